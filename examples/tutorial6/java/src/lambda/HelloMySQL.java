package lambda;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.io.FileInputStream;
import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.LinkedList;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import saaf.Inspector;

/**
 * The tutorial's HelloMySQL (part 6): inserts the request's name into TEST.mytable on the
 * tcss562 cluster and returns every name stored so far, with SAAF's metrics.
 *
 * The connection comes from db.properties (url, username, password), as in the tutorial:
 * url=jdbc:mysql://[cluster endpoint]:3306/TEST. faaslab's cluster endpoint is a port it
 * picks, so the packaged db.properties names it with ${DB_HOST} and ${DB_PORT}, which this
 * function fills in from the template's variables (on AWS, write the endpoint itself).
 *
 * Handler: lambda.HelloMySQL::handleRequest. The driver is MariaDB Connector/J, which takes
 * jdbc:mysql: URLs.
 */
public class HelloMySQL implements RequestHandler<Request, HashMap<String, Object>> {
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)\\}");

    @Override
    public HashMap<String, Object> handleRequest(Request request, Context context) {
        // Collect initial data.
        Inspector inspector = new Inspector();
        inspector.inspectAll();

        LambdaLogger logger = context.getLogger();
        String name = request.getName() != null ? request.getName() : "Fred Smith";
        LinkedList<String> names = new LinkedList<>();
        try {
            Properties properties = new Properties();
            try (FileInputStream in = new FileInputStream("db.properties")) {
                properties.load(in);
            }
            String url = expand(properties.getProperty("url"));
            String username = expand(properties.getProperty("username"));
            String password = expand(properties.getProperty("password"));

            // A paused cluster holds the connection while it resumes (~25-30 s on AWS,
            // hence the function's 5-minute timeout).
            long started = System.nanoTime();
            try (Connection con = DriverManager.getConnection(url, username, password)) {
                logger.log(String.format("connected to %s in %.1f ms%n",
                        url.replaceFirst("^jdbc:mysql://([^/]*).*$", "$1"),
                        (System.nanoTime() - started) / 1e6));
                // A bound parameter, where the tutorial pastes the name into the SQL.
                PreparedStatement ps = con.prepareStatement("insert into mytable values(?,'b','c');");
                ps.setString(1, name);
                ps.execute();

                ps = con.prepareStatement("select * from mytable;");
                ResultSet rs = ps.executeQuery();
                while (rs.next()) {
                    names.add(rs.getString("name"));
                }
                rs.close();
            }
        } catch (IOException | SQLException e) {
            logger.log("DB ERROR:" + e.toString() + "\n");
            inspector.addAttribute("error", e.toString());
        }

        inspector.addAttribute("value", "Hello " + name);
        inspector.addAttribute("names", names);

        inspector.inspectAllDeltas();
        return inspector.finish();
    }

    /** A property with ${VARIABLE}s replaced by the function's environment variables. */
    static String expand(String value) {
        if (value == null) {
            return null;
        }
        Matcher m = VARIABLE.matcher(value);
        StringBuffer out = new StringBuffer();
        while (m.find()) {
            String v = System.getenv(m.group(1));
            m.appendReplacement(out, Matcher.quoteReplacement(v != null ? v : m.group()));
        }
        m.appendTail(out);
        return out.toString();
    }
}
