package lambda;

/**
 * helloSqlite with the tutorial's other connection string, "jdbc:sqlite:": a database in
 * memory, opened per call, so nothing persists between calls even in a warm container (Q3),
 * while the static `uses` counter does (Q4).
 *
 * Handler: lambda.HelloSqliteMemory::handleRequest.
 */
public class HelloSqliteMemory extends HelloSqlite {
    @Override
    protected String databaseUrl() {
        return "jdbc:sqlite:";
    }
}
