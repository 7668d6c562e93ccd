package faaslab.runtime;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.nio.charset.StandardCharsets;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Resolves `_HANDLER` as Lambda's Java runtime does: `pkg.Class` (a RequestHandler or
 * RequestStreamHandler) or `pkg.Class::method` (any public method taking an event and/or a
 * Context, or streams), with the same faults and the same words for each.
 */
final class HandlerLoader {
    private static final byte[] JSON_NULL = "null".getBytes(StandardCharsets.UTF_8);

    private HandlerLoader() {}

    /** The handler; a fatal UserFault is an init error (the runtime reports it and exits). */
    static Handler load(String handler, ClassLoader loader) {
        int colon = handler.lastIndexOf("::");
        String className = colon < 0 ? handler : handler.substring(0, colon);
        String methodName = colon < 0 ? null : handler.substring(colon + 2);
        if (className.isEmpty() || (methodName != null && methodName.isEmpty())) {
            return Handler.failing(UserFault.of("Invalid handler: `" + handler + "'"));
        }
        Class<?> clazz;
        try {
            clazz = Class.forName(className, true, loader);
        } catch (ClassNotFoundException e) {
            return Handler.failing(UserFault.classNotFound(e, className));
        } catch (NoClassDefFoundError e) {
            return Handler.failing(UserFault.initError(e, className));
        } catch (Throwable t) {  // a static initialiser threw, a class file too new, ...
            throw UserFault.initError(t, className);
        }
        try {
            return methodName == null ? classHandler(clazz) : methodHandler(clazz, methodName);
        } catch (UserFault f) {
            if (f.fatal) {
                throw f;
            }
            return Handler.failing(f);
        }
    }

    private static Handler classHandler(Class<?> clazz) {
        if (RequestStreamHandler.class.isAssignableFrom(clazz)) {
            final RequestStreamHandler instance;
            try {
                instance = (RequestStreamHandler) newInstance(clazz);
            } catch (UserFault f) {
                if (f.fatal) {
                    throw f;
                }
                return Handler.failing(f);
            }
            return new Handler() {
                @Override
                public byte[] call(Invocation inv, LambdaContext ctx) throws IOException {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    instance.handleRequest(new ByteArrayInputStream(inv.payload), out, ctx);
                    return out.toByteArray();
                }
            };
        }
        if (RequestHandler.class.isAssignableFrom(clazz)) {
            final RequestHandler<Object, Object> instance;
            try {
                @SuppressWarnings("unchecked")
                RequestHandler<Object, Object> made = (RequestHandler<Object, Object>) newInstance(clazz);
                instance = made;
            } catch (UserFault f) {
                if (f.fatal) {
                    throw f;
                }
                return Handler.failing(f);
            }
            Type[] types = requestHandlerTypes(clazz);
            final Type in = types[0];
            final Type out = isVoid(types[1]) ? null : types[1];
            prepare(in, out);
            return new Handler() {
                @Override
                public byte[] call(Invocation inv, LambdaContext ctx) throws Throwable {
                    Object input = readInput(inv.payload, in);
                    Object output;
                    try {
                        output = instance.handleRequest(input, ctx);
                    } catch (Throwable t) {
                        throw UserFault.filter(t);
                    }
                    return writeOutput(output, out);
                }
            };
        }
        return Handler.failing(UserFault.of(
                "Class does not implement an appropriate handler interface: " + clazz.getName()));
    }

    private static Handler methodHandler(Class<?> clazz, String name) {
        Method[] all;
        try {
            all = clazz.getMethods();
        } catch (NoClassDefFoundError e) {
            return Handler.failing(new UserFault("Error loading method " + name + " on class " + clazz.getName(),
                    e.getClass().getName(), UserFault.trace(e), false));
        }
        List<Method> named = new ArrayList<>();
        for (Method m : all) {
            if (m.getName().equals(name)) {
                named.add(m);
            }
        }
        // Declared methods before the compiler's bridges (a RequestHandler<Request, ...>
        // also has handleRequest(Object, Context)), then longer signatures first, and among
        // equals the one ending with a Context (Lambda's order).
        Collections.sort(named, new Comparator<Method>() {
            @Override
            public int compare(Method a, Method b) {
                if (a.isBridge() != b.isBridge()) {
                    return a.isBridge() ? 1 : -1;
                }
                int byCount = Integer.compare(b.getParameterCount(), a.getParameterCount());
                if (byCount != 0) {
                    return byCount;
                }
                return Boolean.compare(endsWithContext(b), endsWithContext(a));
            }
        });
        for (Method m : named) {
            Handler h = fromMethod(clazz, m);
            if (h != null) {
                return h;
            }
        }
        return Handler.failing(UserFault.of("No public method named " + name
                + " with appropriate method signature found on class " + clazz.getName()));
    }

    /** A handler for one overload, or null when its signature is not one Lambda accepts. */
    private static Handler fromMethod(Class<?> clazz, final Method m) {
        final Class<?>[] params = m.getParameterTypes();
        if (params.length > 3) {
            return null;
        }
        int contexts = 0;
        int streamsIn = -1;
        int streamsOut = -1;
        int pojo = -1;
        for (int i = 0; i < params.length; i++) {
            if (Context.class.equals(params[i])) {
                if (i != params.length - 1) {
                    return null;
                }
                contexts++;
            } else if (InputStream.class.equals(params[i])) {
                streamsIn = i;
            } else if (OutputStream.class.equals(params[i])) {
                streamsOut = i;
            } else {
                if (pojo >= 0) {
                    return null;
                }
                pojo = i;
            }
        }
        boolean streaming = streamsIn >= 0 || streamsOut >= 0;
        if (streaming && pojo >= 0) {
            return null;
        }
        if (streaming && (streamsIn > 0 || (streamsOut >= 0 && streamsOut != (streamsIn < 0 ? 0 : 1)))) {
            return null;  // (InputStream, OutputStream, Context), in that order
        }
        final Object instance;
        if (Modifier.isStatic(m.getModifiers())) {
            instance = null;
        } else {
            instance = newInstance(clazz);  // a fatal fault here is an init error
        }
        final int inIdx = streamsIn, outIdx = streamsOut, pojoIdx = pojo;
        final boolean context = contexts == 1;
        final Type in = pojo >= 0 ? m.getGenericParameterTypes()[pojo] : null;
        final Type out = isVoid(m.getGenericReturnType()) ? null : m.getGenericReturnType();
        if (!streaming) {
            prepare(in, out);
        }
        m.setAccessible(true);
        return new Handler() {
            @Override
            public byte[] call(Invocation inv, LambdaContext ctx) throws Throwable {
                Object[] args = new Object[params.length];
                ByteArrayOutputStream buf = null;
                if (inIdx >= 0) {
                    args[inIdx] = new ByteArrayInputStream(inv.payload);
                }
                if (outIdx >= 0) {
                    buf = new ByteArrayOutputStream();
                    args[outIdx] = buf;
                }
                if (pojoIdx >= 0) {
                    args[pojoIdx] = readInput(inv.payload, in);
                }
                if (context) {
                    args[params.length - 1] = ctx;
                }
                Object result;
                try {
                    result = m.invoke(instance, args);
                } catch (InvocationTargetException e) {
                    throw UserFault.filter(e.getCause() == null ? e : e.getCause());
                }
                if (buf != null) {
                    return buf.toByteArray();
                }
                return streaming && out == null ? new byte[0] : writeOutput(result, out);
            }
        };
    }

    private static boolean endsWithContext(Method m) {
        Class<?>[] p = m.getParameterTypes();
        return p.length > 0 && Context.class.equals(p[p.length - 1]);
    }

    private static Object newInstance(Class<?> clazz) {
        Constructor<?> ctor;
        try {
            ctor = clazz.getConstructor();
        } catch (NoSuchMethodException e) {
            String why = clazz.getEnclosingClass() != null && !Modifier.isStatic(clazz.getModifiers())
                    ? " cannot be instantiated because it is a non-static inner class"
                    : " has no public zero-argument constructor";
            throw UserFault.of(new Exception("Class " + clazz.getName() + why, e), false);
        }
        try {
            return ctor.newInstance();
        } catch (InvocationTargetException e) {  // the constructor threw: an init error
            throw UserFault.of(e.getCause() == null ? e : e.getCause(), true);
        } catch (ReflectiveOperationException e) {
            throw UserFault.of(e, true);
        }
    }

    /** Loads the JSON codec during init (as Lambda's runtime does for POJO handlers). */
    private static void prepare(Type in, Type out) {
        if (in != null || out != null) {
            Codecs.get();
        }
    }

    static Object readInput(byte[] payload, Type type) {
        if (type == null) {
            return null;
        }
        try {
            return Codecs.get().read(payload, type);
        } catch (Throwable t) {
            throw new RuntimeException("An error occurred during JSON parsing", UserFault.filter(t));
        }
    }

    static byte[] writeOutput(Object value, Type type) {
        if (type == null) {
            return JSON_NULL;
        }
        try {
            return Codecs.get().write(value, type);
        } catch (Throwable t) {
            throw new RuntimeException("An error occurred during JSON serialization of response", t);
        }
    }

    private static boolean isVoid(Type t) {
        return Void.TYPE.equals(t) || Void.class.equals(t);
    }

    /** RequestHandler's I and O as the class binds them (Object where it leaves them open). */
    static Type[] requestHandlerTypes(Class<?> clazz) {
        Type[] found = search(clazz, new HashMap<TypeVariable<?>, Type>());
        return found != null ? found : new Type[] {Object.class, Object.class};
    }

    private static Type[] search(Type type, Map<TypeVariable<?>, Type> bindings) {
        Class<?> raw;
        Map<TypeVariable<?>, Type> here = bindings;
        if (type instanceof ParameterizedType) {
            ParameterizedType p = (ParameterizedType) type;
            raw = (Class<?>) p.getRawType();
            here = new HashMap<>(bindings);
            TypeVariable<?>[] vars = raw.getTypeParameters();
            Type[] args = p.getActualTypeArguments();
            for (int i = 0; i < vars.length && i < args.length; i++) {
                here.put(vars[i], resolve(args[i], bindings));
            }
            if (raw == RequestHandler.class) {
                return new Type[] {here.get(vars[0]), here.get(vars[1])};
            }
        } else if (type instanceof Class) {
            raw = (Class<?>) type;
            if (raw == RequestHandler.class) {
                return new Type[] {Object.class, Object.class};
            }
        } else {
            return null;
        }
        for (Type i : raw.getGenericInterfaces()) {
            Type[] r = search(i, here);
            if (r != null) {
                return r;
            }
        }
        Type sup = raw.getGenericSuperclass();
        return sup == null ? null : search(sup, here);
    }

    private static Type resolve(Type t, Map<TypeVariable<?>, Type> bindings) {
        if (t instanceof TypeVariable) {
            Type bound = bindings.get(t);
            if (bound != null) {
                return bound;
            }
            Type[] bounds = ((TypeVariable<?>) t).getBounds();
            return bounds.length > 0 ? bounds[0] : Object.class;
        }
        if (t instanceof WildcardType) {
            Type[] upper = ((WildcardType) t).getUpperBounds();
            return upper.length > 0 ? upper[0] : Object.class;
        }
        return t;
    }
}
