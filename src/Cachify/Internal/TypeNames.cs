using System.Text;

namespace CachifyNet.Internal;

/// <summary>Readable, assembly-free type names (<c>System.Collections.Generic.List&lt;System.Int32&gt;</c>).</summary>
internal static class TypeNames
{
    public static string Full(Type? type) => type is null ? "?" : Append(new StringBuilder(), type, full: true).ToString();

    public static string Short(Type? type) => type is null ? "?" : Append(new StringBuilder(), type, full: false).ToString();

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
