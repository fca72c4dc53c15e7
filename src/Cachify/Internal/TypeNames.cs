using System.Text;

namespace CachifyNet.Internal;

/// <summary>Readable, assembly-free type names (<c>System.Collections.Generic.List&lt;System.Int32&gt;</c>).</summary>
internal static class TypeNames
{
    public static string Full(Type? type) => type is null ? "?" : Append(new StringBuilder(), type, full: true).ToString();

    public static string Short(Type? type) => type is null ? "?" : Append(new StringBuilder(), type, full: false).ToString();

    private static StringBuilder Append(StringBuilder sb, Type type, bool full)
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

        if (type.IsNested)
        {
            // A nested type's declaring type is open (Outer<T>); close it with the nested type's leading arguments.
            var declaring = type.DeclaringType!;
            if (declaring.IsGenericTypeDefinition && type.IsConstructedGenericType)
            {
                declaring = declaring.MakeGenericType(type.GetGenericArguments()[..declaring.GetGenericArguments().Length]);
            }

            Append(sb, declaring, full).Append('+');
        }
        else if (full && !string.IsNullOrEmpty(type.Namespace))
        {
            sb.Append(type.Namespace).Append('.');
        }

        var name = type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        sb.Append(tick < 0 ? name : name[..tick]);
        if (type.IsGenericType)
        {
            // Only the arguments that belong to this type (not to its declaring types) are listed here.
            var all = type.GetGenericArguments();
            var own = type.IsNested ? all.Length - type.DeclaringType!.GetGenericArguments().Length : all.Length;
            if (own > 0)
            {
                sb.Append('<');
                for (var i = all.Length - own; i < all.Length; i++)
                {
                    if (i > all.Length - own)
                    {
                        sb.Append(',');
                    }

                    Append(sb, all[i], full);
                }

                sb.Append('>');
            }
        }

        return sb;
    }
}
