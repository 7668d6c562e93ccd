package bench;

/** The floor: the least a JVM start costs on this machine (`java -cp ... bench.Hello`). */
public class Hello {
    public static void main(String[] args) {
        System.out.println("hello");
    }
}
