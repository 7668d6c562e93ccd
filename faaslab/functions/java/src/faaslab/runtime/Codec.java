package faaslab.runtime;

import java.lang.reflect.Type;
import java.util.Map;

/**
 * JSON (de)serialisation of events and results, configured as Lambda's Java runtime
 * configures Jackson. Implemented in the separate json jar and loaded in a class loader of
 * its own (Codecs): a function's own Jackson (in its lib/) never meets the runtime's, and
 * handlers that only use streams never pay for loading Jackson.
 */
public interface Codec {
    Object read(byte[] json, Type type) throws Exception;

    byte[] write(Object value, Type type) throws Exception;

    Map<String, Object> readMap(String json) throws Exception;
}
