package faaslab.runtime;

import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;

/** The JSON codec, loaded on first use from -Dfaaslab.json.classpath. */
final class Codecs {
    private Codecs() {}

    private static Codec codec;

    static synchronized Codec get() {
        if (codec == null) {
            String path = System.getProperty("faaslab.json.classpath", "");
            List<URL> urls = new ArrayList<>();
            try {
                for (String p : path.split(File.pathSeparator)) {
                    if (!p.isEmpty()) {
                        urls.add(new File(p).toURI().toURL());
                    }
                }
                ClassLoader loader = new URLClassLoader(urls.toArray(new URL[0]), Codecs.class.getClassLoader());
                codec = (Codec) Class.forName("faaslab.runtime.json.JacksonCodec", true, loader)
                        .getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | java.net.MalformedURLException e) {
                throw new IllegalStateException("faaslab's Java runtime cannot load its JSON codec from "
                        + path + " (Debian's libjackson2-databind-java)", e);
            }
        }
        return codec;
    }
}
