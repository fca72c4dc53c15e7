using System.Text;

namespace CachifyNet.Internal;

/// <summary>Readable, assembly-free type names (<c>System.Collections.Generic.List&lt;System.Int32&gt;</c>).</summary>
internal static class TypeNames
{
    public static string Full(Type? type) => type is null ? "?" : Append(new StringBuilder(), type, full: true).ToString();

    public static string Short(Type? type) => type is null ? "?" : Append(new StringBuilder(), type, full: false).ToString();

    /// <summary>
    /// A readable name of <paramref name="method"/> for logs, metrics and errors: <c>Type.Method</c>. A lambda or local function
    /// is named after the method that declares it, in the type that declares that method, never by its compiler-generated
    /// names (<c>&lt;&gt;c.&lt;Run&gt;b__0_2</c> is <c>Type.Run.lambda</c>, <c>&lt;Run&gt;g__Fetch|0_0</c> is <c>Type.Run.Fetch</c>).
    /// </summary>
    public static string Display(System.Reflection.MethodInfo method)
    {
        var type = method.DeclaringType;

        // Closure classes (<>c, <>c__DisplayClass3_0) are nested in the type whose code declared the lambda.
        while (type is { IsNested: true } && type.Name.StartsWith('<'))
        {
            type = type.DeclaringType;
        }

        return Short(type) + "." + MemberName(method.Name);
    }

    /// <summary>
    /// The readable part of a method name: the name itself, or for a compiler-generated one the declaring method followed
    /// by <c>lambda</c> or the local function's name (<c>&lt;&lt;Main&gt;$&gt;b__0_0</c>, a lambda in top-level statements, is <c>Main.lambda</c>).
    /// Constructors read <c>ctor</c> and <c>cctor</c> (a static field's initialiser).
    /// </summary>
    public static string MemberName(string name)
    {
        if (!name.StartsWith('<'))
        {
            return Plain(name);
        }

        var close = Closing(name);
        if (close < 0)
        {
            return name;
        }

        var outer = name[1..close];
        if (outer.StartsWith('<'))
        {
            // Top-level statements: <Main>$.
            var inner = Closing(outer);
            outer = inner > 0 ? outer[1..inner] : outer;
        }

        outer = Plain(outer);
        var rest = name.AsSpan(close + 1);
        if (rest.IsEmpty || rest is "$")
        {
            return outer;
        }

        if (rest.StartsWith("g__", StringComparison.Ordinal))
        {
            var bar = rest.IndexOf('|');
            var local = bar > 3 ? rest[3..bar] : rest[3..];
            return outer.Length == 0 ? local.ToString() : outer + "." + local.ToString();
        }

        return outer.Length == 0 ? "lambda" : outer + ".lambda";
    }

    private static string Plain(string name) => name switch
    {
        ".ctor" => "ctor",
        ".cctor" => "cctor",
        _ => name,
    };

    /// <summary>The index of the '&gt;' that closes the '&lt;' at index 0, or -1.</summary>
    private static int Closing(string name)
    {
        var depth = 0;
        for (var i = 0; i < name.Length; i++)
        {
            if (name[i] == '<')
            {
                depth++;
            }
            else if (name[i] == '>' && --depth == 0)
            {
                return i;
            }
        }

        return -1;
    }

    private static StringBuilder Append(StringBuilder sb, Type type, bool full)
        => Append(sb, type, type.IsConstructedGenericType || type.IsGenericTypeDefinition ? type.GetGenericArguments() : [], full);

    /// <summary>
    /// Appends <paramref name="type"/> with <paramref name="arguments"/> as the generic arguments of it and its
    /// declaring types (a nested type of a generic type carries its declaring type's arguments first).
    /// </summary>
    private static StringBuilder Append(StringBuilder sb, Type type, Type[] arguments, bool full)
    {
        if (type.IsArray)
        {
            Append(sb, type.GetElementType()!, full).Append('[');
            sb.Append(',', type.GetArrayRank() - 1);
            return sb.Append(']');
        }

        if (type.IsByRef || type.IsPointer)
        {
            return Append(sb, type.GetElementType()!, full).Append(type.IsByRef ? "&" : "*");
        }

        if (type.IsGenericParameter)
        {
            return sb.Append(type.Name);
        }

        var inherited = 0;
        if (type.IsNested)
        {
            var declaring = type.DeclaringType!;
            inherited = declaring.IsGenericType ? declaring.GetGenericArguments().Length : 0;
            Append(sb, declaring, arguments[..Math.Min(inherited, arguments.Length)], full).Append('+');
        }
        else if (full && !string.IsNullOrEmpty(type.Namespace))
        {
            sb.Append(type.Namespace).Append('.');
        }

        var name = type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        sb.Append(tick < 0 ? name : name[..tick]);
        if (arguments.Length > inherited)
        {
            sb.Append('<');
            for (var i = inherited; i < arguments.Length; i++)
            {
                if (i > inherited)
                {
                    sb.Append(',');
                }

                Append(sb, arguments[i], full);
            }

            sb.Append('>');
        }

        return sb;
    }
}
