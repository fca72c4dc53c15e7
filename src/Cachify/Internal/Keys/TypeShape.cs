using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace CachifyNet.Internal;

/// <summary>
/// What the JSON of a type shows and hides, shared by the key text (<see cref="KeyJson"/>) and the result analysis of
/// shared backends: collection item types, the member a field holds the state of, a collection's own state.
/// </summary>
internal static class TypeShape
{
    /// <summary>
    /// The element type (and for dictionaries the key type) of a collection, from the generic interface it
    /// implements (object for the non-generic ones).
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Interfaces of argument and result types that the wrapped function uses.")]
    public static (Type Key, Type Value) ItemTypes(Type type, bool dictionary)
    {
        if (!dictionary && type.IsArray)
        {
            return (typeof(object), type.GetElementType()!);
        }

        if (!dictionary && type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(Memory<>) || type.GetGenericTypeDefinition() == typeof(ReadOnlyMemory<>)))
        {
            return (typeof(object), type.GetGenericArguments()[0]);
        }

        foreach (var candidate in type.GetInterfaces().Prepend(type))
        {
            if (!candidate.IsGenericType)
            {
                continue;
            }

            var definition = candidate.GetGenericTypeDefinition();
            var arguments = candidate.GetGenericArguments();
            if (dictionary && (definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>)))
            {
                return (arguments[0], arguments[1]);
            }

            if (!dictionary && definition == typeof(IEnumerable<>))
            {
                return (typeof(object), arguments[0]);
            }
        }

        return (typeof(object), typeof(object));
    }

    /// <summary>
    /// A field declared by a collection type outside the framework that does not hold its items: state its JSON,
    /// which is its items, would not show. That is any field that is not a collection (a name, a flag), and any
    /// collection beyond the one that may hold the items: every collection field of a type whose framework base
    /// (a <c>List&lt;T&gt;</c>, a <c>Dictionary</c>) holds them, and the second one of a collection of its own.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Fields of argument and result types; a field trimmed away holds nothing.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "As above, for base types.")]
    public static string? OwnState(Type type)
    {
        var collections = new List<string>();
        var current = type;
        for (; current is not null && !IsFramework(current); current = current.BaseType)
        {
            foreach (var field in current.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (field.FieldType == typeof(string) || !typeof(IEnumerable).IsAssignableFrom(field.FieldType))
                {
                    return field.Name;
                }

                collections.Add(field.Name);
            }
        }

        var itemsInBase = current is not null && typeof(IEnumerable).IsAssignableFrom(current);
        var itemStores = itemsInBase ? 0 : 1;
        return collections.Count > itemStores ? collections[itemStores] : null;
    }

    /// <summary>Whether <paramref name="type"/> comes from the runtime or Microsoft's libraries.</summary>
    public static bool IsFramework(Type type)
        => type.Assembly == typeof(object).Assembly || type.Namespace is { } ns && (ns == "System" || ns.StartsWith("System.", StringComparison.Ordinal) || ns.StartsWith("Microsoft.", StringComparison.Ordinal));

    /// <summary>The member a field holds the state of: <c>&lt;Name&gt;k__BackingField</c>, <c>&lt;name&gt;P</c>, <c>_name</c>, <c>m_name</c> → Name.</summary>
    public static string StateName(string field)
    {
        if (field.StartsWith('<') && field.IndexOf('>', StringComparison.Ordinal) is > 1 and var end)
        {
            return field[1..end];
        }

        if (field.StartsWith("m_", StringComparison.Ordinal))
        {
            return field[2..];
        }

        return field.TrimStart('_');
    }
}
