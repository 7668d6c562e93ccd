package lambda;

/**
 * The request of helloSqlite and helloMySQL: {"name": "Fred Smith"}. Other keys (an HTTP API
 * event's) are ignored, as Lambda's Java serialiser ignores unknown properties.
 *
 * @author Wes Lloyd (the tutorial's class)
 */
public class Request {

    String name;

    public String getName() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    public Request(String name) {
        this.name = name;
    }

    public Request() {
    }
}
