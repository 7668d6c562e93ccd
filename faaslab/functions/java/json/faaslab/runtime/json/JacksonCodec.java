package faaslab.runtime.json;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.core.type.TypeReference;
import faaslab.runtime.Codec;
import java.lang.reflect.Type;
import java.util.Map;

/**
 * Events and results in JSON, with the settings of aws-lambda-java-serialization's
 * JacksonFactory: unknown properties ignored, fields and setters both bind, nulls left out
 * of results, single quotes and unquoted names accepted, no creators auto-detected.
 * (Not here: its java.time and Optional modules, and the mixins for the
 * aws-lambda-java-events classes.)
 */
public final class JacksonCodec implements Codec {
    private final ObjectMapper mapper;

    public JacksonCodec() {
        JsonFactory factory = JsonFactory.builder()
                .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
                .enable(JsonReadFeature.ALLOW_LEADING_ZEROS_FOR_NUMBERS)
                .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES)
                .enable(JsonReadFeature.ALLOW_BACKSLASH_ESCAPING_ANY_CHARACTER)
                .enable(JsonReadFeature.ALLOW_UNESCAPED_CONTROL_CHARS)
                .enable(JsonReadFeature.ALLOW_UNQUOTED_FIELD_NAMES)
                .disable(JsonReadFeature.ALLOW_JAVA_COMMENTS)
                .disable(JsonReadFeature.ALLOW_YAML_COMMENTS)
                .enable(JsonWriteFeature.QUOTE_FIELD_NAMES)
                .enable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
                .disable(JsonWriteFeature.ESCAPE_NON_ASCII)
                .disable(JsonWriteFeature.WRITE_NUMBERS_AS_STRINGS)
                .build();
        factory.disable(JsonParser.Feature.AUTO_CLOSE_SOURCE);
        factory.disable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        factory.enable(JsonGenerator.Feature.IGNORE_UNKNOWN);
        factory.disable(JsonGenerator.Feature.AUTO_CLOSE_JSON_CONTENT);
        factory.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        factory.disable(JsonGenerator.Feature.FLUSH_PASSED_TO_STREAM);
        factory.disable(JsonGenerator.Feature.STRICT_DUPLICATE_DETECTION);
        factory.disable(JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN);

        mapper = JsonMapper.builder(factory)
                .enable(MapperFeature.ALLOW_FINAL_FIELDS_AS_MUTATORS)
                .enable(MapperFeature.AUTO_DETECT_FIELDS)
                .enable(MapperFeature.AUTO_DETECT_GETTERS)
                .enable(MapperFeature.AUTO_DETECT_IS_GETTERS)
                .enable(MapperFeature.AUTO_DETECT_SETTERS)
                .enable(MapperFeature.CAN_OVERRIDE_ACCESS_MODIFIERS)
                .enable(MapperFeature.USE_STD_BEAN_NAMING)
                .enable(MapperFeature.USE_ANNOTATIONS)
                .disable(MapperFeature.ACCEPT_CASE_INSENSITIVE_PROPERTIES)
                .disable(MapperFeature.AUTO_DETECT_CREATORS)
                .disable(MapperFeature.INFER_PROPERTY_MUTATORS)
                .disable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
                .disable(MapperFeature.USE_GETTERS_AS_SETTERS)
                .disable(MapperFeature.USE_WRAPPER_NAME_AS_PROPERTY_NAME)
                .disable(MapperFeature.USE_STATIC_TYPING)
                .disable(MapperFeature.REQUIRE_SETTERS_FOR_GETTERS)
                .enable(SerializationFeature.FAIL_ON_SELF_REFERENCES)
                .enable(SerializationFeature.FAIL_ON_UNWRAPPED_TYPE_IDENTIFIERS)
                .enable(SerializationFeature.WRAP_EXCEPTIONS)
                .disable(SerializationFeature.CLOSE_CLOSEABLE)
                .disable(SerializationFeature.EAGER_SERIALIZER_FETCH)
                .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
                .disable(SerializationFeature.FLUSH_AFTER_WRITE_VALUE)
                .disable(SerializationFeature.INDENT_OUTPUT)
                .disable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
                .disable(SerializationFeature.USE_EQUALITY_FOR_OBJECT_ID)
                .disable(SerializationFeature.WRITE_CHAR_ARRAYS_AS_JSON_ARRAYS)
                .disable(SerializationFeature.WRAP_ROOT_VALUE)
                .enable(DeserializationFeature.ACCEPT_EMPTY_ARRAY_AS_NULL_OBJECT)
                .enable(DeserializationFeature.ACCEPT_EMPTY_STRING_AS_NULL_OBJECT)
                .enable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
                .enable(DeserializationFeature.FAIL_ON_INVALID_SUBTYPE)
                .enable(DeserializationFeature.FAIL_ON_UNRESOLVED_OBJECT_IDS)
                .enable(DeserializationFeature.READ_UNKNOWN_ENUM_VALUES_AS_NULL)
                .enable(DeserializationFeature.UNWRAP_SINGLE_VALUE_ARRAYS)
                .enable(DeserializationFeature.WRAP_EXCEPTIONS)
                .disable(DeserializationFeature.FAIL_ON_IGNORED_PROPERTIES)
                .disable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .disable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
                .disable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .serializationInclusion(JsonInclude.Include.NON_NULL)
                .build();
    }

    private JavaType type(Type t) {
        return mapper.getTypeFactory().constructType(t);
    }

    @Override
    public Object read(byte[] json, Type type) throws Exception {
        return mapper.readValue(json, type(type));
    }

    @Override
    public byte[] write(Object value, Type type) throws Exception {
        return mapper.writerFor(type(type)).writeValueAsBytes(value);
    }

    @Override
    public Map<String, Object> readMap(String json) throws Exception {
        return mapper.readValue(json, new TypeReference<Map<String, Object>>() {});
    }
}
