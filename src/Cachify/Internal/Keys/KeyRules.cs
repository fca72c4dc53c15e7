using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace CachifyNet.Internal;

/// <summary>How values of one type are compared in keys.</summary>
internal enum KeyKind
{
    /// <summary>With <c>Equals</c>: types with value equality (and <see cref="object"/> or an interface, by the runtime value's <c>Equals</c>).</summary>
    Equality,

    /// <summary>By content: the text of its public state, a snapshot taken at the call.</summary>
    Content,

    /// <summary>By reference: an object whose state its public members do not show (a service, a DbContext). Shared backends refuse it.</summary>
    Reference,
}

/// <summary>
/// What counts as "the same argument", one rule for every backend:
/// <list type="bullet">
/// <item>Types with value equality (built-in values, enums, records, tuples and structs whose members all have
/// value equality, types that implement <see cref="IEquatable{T}"/> or override <c>Equals</c>) are compared with
/// <c>Equals</c>, in a typed key.</item>
/// <item>Collections, arrays, classes without value equality and records that hold a collection are keyed by their
/// content: the text <see cref="KeyJson"/> writes of their public state, taken at the call, so mutating an argument
/// later never returns the old result. Redis keys every argument by that text.</item>
/// <item>An object whose public members do not show all of its state (a service, a connection) has no faithful
/// content: it is keyed by reference in memory, and refused by Redis, which has no references.</item>
/// </list>
/// </summary>
internal static class KeyRules
{
    private static readonly ConcurrentDictionary<Type, KeyKind> Kinds = new();

    /// <summary>How arguments (and captured values) of <paramref name="type"/> are keyed.</summary>
    public static KeyKind KindOf(Type type) => Kinds.TryGetValue(type, out var known) ? known : Kinds.GetOrAdd(type, Compute(type));

    /// <summary>Whether any key-relevant parameter of the wrapper is keyed by content (then its keys are text).</summary>
    public static bool NeedsTextKey(WrapperConfig config)
    {
        if (config.KeyBy is not null)
        {
            return false;
        }

        var types = config.Function.ParameterTypes;
        for (var i = 0; i < types.Length; i++)
        {
            if ((config.KeyMask & (1 << i)) != 0 && KindOf(types[i]) == KeyKind.Content)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The text of an argument in a memory text key (a wrapper with an argument keyed by content): content as
    /// <see cref="KeyJson"/> writes it, except for objects keyed by reference (and values whose runtime type has no
    /// faithful content), which are written as their instance's process-unique number.
    /// </summary>
    public static readonly Func<object, Type, string> MemoryObjectText = static (value, declaredType) =>
    {
        var kind = KindOf(declaredType);
        if (kind == KeyKind.Reference || (kind == KeyKind.Equality && !KeyJson.IsKeyable(value.GetType(), out _)))
        {
            return "#i" + InstanceKey.Of(value).Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return KeyJson.Text(value, declaredType);
    };

    /// <summary>
    /// Whether two typed keys of the wrapper are equal exactly when their texts are (a <c>KeyBy</c> text, or only built-in
    /// argument types and no target). Otherwise (an argument keyed by content, a custom <c>Equals</c>, a captured value),
    /// a backend that keys its entries by text must not take a typed key's equality for the text's: its local level checks
    /// the text of each hit.
    /// </summary>
    public static bool TypedKeyMatchesText(WrapperConfig config)
    {
        if (config.KeyBy is not null)
        {
            return true;
        }

        if (config.KeyHasTarget)
        {
            return false;
        }

        var types = config.Function.ParameterTypes;
        for (var i = 0; i < types.Length; i++)
        {
            var type = Nullable.GetUnderlyingType(types[i]) ?? types[i];
            if ((config.KeyMask & (1 << i)) != 0 && (!ArgText.IsKnown(type) || type == typeof(byte[])))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Bit i set when parameter i is part of the key and keyed by reference (for the never-hit warning).</summary>
    public static int ReferenceMask(WrapperConfig config)
    {
        var mask = 0;
        var types = config.Function.ParameterTypes;
        for (var i = 0; i < types.Length; i++)
        {
            if ((config.KeyMask & (1 << i)) != 0 && config.KeyBy is null && KindOf(types[i]) == KeyKind.Reference)
            {
                mask |= 1 << i;
            }
        }

        return mask;
    }

    private static KeyKind Compute(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (ArgText.IsKnown(underlying) && underlying != typeof(byte[]))
        {
            return KeyKind.Equality;
        }

        var enumerable = typeof(IEnumerable).IsAssignableFrom(underlying);
        if (!enumerable && (underlying == typeof(object) || underlying.IsInterface || underlying.IsAbstract || underlying.IsPointer
            || underlying.IsByRefLike || typeof(Delegate).IsAssignableFrom(underlying) || underlying == typeof(CancellationToken)))
        {
            // The runtime value decides: its own Equals.
            return KeyKind.Equality;
        }

        if (!enumerable && HasEqualityAllTheWay(underlying, [], 0))
        {
            return KeyKind.Equality;
        }

        if (KeyJson.IsKeyable(underlying, out _))
        {
            return KeyKind.Content;
        }

        // No faithful content: the type's own equality (reference equality for a class without Equals).
        return !underlying.IsValueType && !HasValueEquality(underlying) ? KeyKind.Reference : KeyKind.Equality;
    }

    /// <summary>Whether <paramref name="type"/> has value equality through and through (records, tuples, structs of such members).</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Reads the members of argument types that the wrapped function receives; members trimmed away are read by nothing.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "As above.")]
    private static bool HasEqualityAllTheWay(Type type, HashSet<Type> visiting, int depth)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if ((ArgText.IsKnown(underlying) && underlying != typeof(byte[])) || underlying == typeof(CancellationToken))
        {
            return true;
        }

        if (underlying == typeof(object) || underlying.IsInterface || underlying.IsAbstract || underlying.IsArray || underlying.IsPointer
            || typeof(Delegate).IsAssignableFrom(underlying) || typeof(IEnumerable).IsAssignableFrom(underlying) || depth > 16)
        {
            return false;
        }

        if (!visiting.Add(underlying))
        {
            // A type that refers to itself: its members are judged where the recursion started.
            return true;
        }

        try
        {
            var isValueTuple = underlying.IsValueType && underlying.IsGenericType && underlying.FullName is { } name && name.StartsWith("System.ValueTuple`", StringComparison.Ordinal);
            if (!underlying.IsValueType && !HasValueEquality(underlying))
            {
                return false;
            }

            if (underlying.IsValueType && !isValueTuple && HasValueEquality(underlying) && IsFramework(underlying))
            {
                // A framework struct with its own equality (e.g. a KeyValuePair is not; DateOnly is known already).
                return true;
            }

            // A record, a tuple or a struct: equal when every field is, so each field must itself have value equality.
            for (var current = underlying; current is not null && current != typeof(object) && current != typeof(ValueType); current = current.BaseType)
            {
                foreach (var field in current.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    if (!HasEqualityAllTheWay(field.FieldType, visiting, depth + 1))
                    {
                        return false;
                    }
                }
            }

            return true;
        }
        finally
        {
            visiting.Remove(underlying);
        }
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Looks up Equals on argument types; an Equals trimmed away is not called by the type's equality either.")]
    private static bool HasValueEquality(Type type)
    {
        var equals = type.GetMethod(nameof(Equals), BindingFlags.Instance | BindingFlags.Public, [typeof(object)]);
        if (equals is not null && equals.DeclaringType != typeof(object) && equals.DeclaringType != typeof(ValueType))
        {
            return true;
        }

        foreach (var candidate in type.GetInterfaces())
        {
            if (candidate.IsGenericType && candidate.GetGenericTypeDefinition() == typeof(IEquatable<>) && candidate.GenericTypeArguments[0] == type)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsFramework(Type type)
        => type.Assembly == typeof(object).Assembly || type.Namespace is { } ns && (ns == "System" || ns.StartsWith("System.", StringComparison.Ordinal));
}
