package lambda;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.nio.charset.Charset;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.LinkedList;
import saaf.Inspector;

/**
 * The tutorial's helloSqlite (part 2): a SQLite database in a file in /tmp, which lives as
 * long as the container; each call inserts the request's name and returns every name stored,
 * with SAAF's metrics and the static call counter `uses` (Q4, Q5).
 *
 * Handler: lambda.HelloSqlite::handleRequest. HelloSqliteMemory is the in-memory variant.
 */
public class HelloSqlite implements RequestHandler<Request, HashMap<String, Object>> {
    static String CONTAINER_ID = "/tmp/container-id";
    static Charset CHARSET = Charset.forName("US-ASCII");
    static int uses = 0;

    /**
     * The connection string. The tutorial writes setCurrentDirectory("/tmp") and then
     * "jdbc:sqlite:mytest.db"; since Java 11 a changed user.dir no longer moves relative
     * paths (the JVM reads it once at start), so the path is written out: on java11+ the
     * relative name would open /var/task/mytest.db, which is read-only.
     */
    protected String databaseUrl() {
        return "jdbc:sqlite:/tmp/mytest.db";
    }

    @Override
    public HashMap<String, Object> handleRequest(Request request, Context context) {
        uses = uses + 1;

        // Collect initial data.
        Inspector inspector = new Inspector();
        inspector.inspectAll();

        LambdaLogger logger = context.getLogger();
        String name = request.getName() != null ? request.getName() : "Fred Smith";
        LinkedList<String> names = new LinkedList<>();
        try (Connection con = DriverManager.getConnection(databaseUrl())) {
            // Detect if the table 'mytable' exists in the database: a new container starts
            // with an empty /tmp (and an in-memory database is always empty) (Q6).
            PreparedStatement ps = con.prepareStatement(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name='mytable'");
            ResultSet rs = ps.executeQuery();
            if (!rs.next()) {
                // 'mytable' does not exist, and should be created
                logger.log("trying to create table 'mytable'\n");
                ps = con.prepareStatement("CREATE TABLE mytable ( name text, col2 text, col3 text);");
                ps.execute();
            }
            rs.close();

            // Insert row into mytable. A bound parameter, where the tutorial pastes the name
            // into the SQL with '+' (O'Brien would break it, and a crafted name is SQL).
            ps = con.prepareStatement("insert into mytable values(?,'b','c');");
            ps.setString(1, name);
            ps.execute();

            // Query mytable to obtain full resultset
            ps = con.prepareStatement("select * from mytable;");
            rs = ps.executeQuery();
            while (rs.next()) {
                names.add(rs.getString("name"));
            }
            rs.close();
        } catch (SQLException sqle) {
            logger.log("DB ERROR:" + sqle.toString() + "\n");
            inspector.addAttribute("error", sqle.toString());
        }

        inspector.addAttribute("value", "Hello " + name);
        inspector.addAttribute("names", names);
        inspector.addAttribute("uses", uses);

        // Collect final information such as total runtime and cpu deltas.
        inspector.inspectAllDeltas();
        return inspector.finish();
    }
}
