using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;

namespace CachifyNet.Internal;

/// <summary>
/// What counts as "the same argument", one rule for every backend:
/// <list type="bullet">
/// <item>Types with value equality (built-in values, enums, records, tuples and structs whose members all have
/// value equality, types that implement <see cref="IEquatable{T}"/> or override <c>Equals</c>) are compared with
/// <c>Equals</c>, in a typed key.</item>
/// <item>Everything else (collections, arrays, classes without value equality, interfaces, <see cref="object"/>,
/// and records that hold a collection) is keyed by its content: the text <see cref="KeyJson"/> writes of its
/// public state, taken at the call, so mutating an argument later never returns the old result. Redis keys
/// every argument by that text.</item>
/// </list>
/// </summary>
internal static class KeyRules
{
    private static readonly ConcurrentDictionary<Type, bool> ValueKeyed = new();

    /// <summary>Whether arguments of <paramref name="type"/> are compared with <c>Equals</c> (true) or by content (false).</summary>
    public static bool IsValueKeyed(Type type) => ValueKeyed.TryGetValue(type, out var known) ? known : ValueKeyed.GetOrAdd(type, Compute(type, [], 0));

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
            if ((config.KeyMask & (1 << i)) != 0 && !IsValueKeyed(types[i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Throws when an argument keyed by content has no faithful text (state no public member shows, a delegate, a
    /// stream...), or a captured value of the closure has none: two different values would share an entry.
    /// </summary>
    public static void ValidateContent(WrapperConfig config, string paramName)
    {
        if (config.KeyBy is not null)
        {
            return;
        }

        var function = config.Function;
        for (var i = 0; i < function.ParameterTypes.Length; i++)
        {
            var type = function.ParameterTypes[i];
            if ((config.KeyMask & (1 << i)) != 0 && !IsValueKeyed(type) && type != typeof(object) && !KeyJson.IsKeyable(type, out var reason))
            {
                var name = function.ParameterNames[i];
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"Parameter '{name}' ({TypeNames.Short(type)}) of {config.DisplayName} cannot be part of a cache key: {reason}. ") +
                    $"Call .IgnoreArgs(\"{name}\") if it does not change the result, .KeyBy(...) to build the key yourself, or give the type value equality (a record, or IEquatable<T>).",
                    paramName);
            }
        }

        if (config.KeyHasTarget && function.Closure is { } closure)
        {
            foreach (var captured in closure.Values)
            {
                if (!captured.ByValue && captured.Type != typeof(object) && !KeyJson.IsKeyable(captured.Type, out var reason))
                {
                    throw new ArgumentException(
                        $"{config.DisplayName} captures '{captured.Name}' ({TypeNames.Short(captured.Type)}), which cannot be part of a cache key: {reason}. " +
                        "A closure is keyed by what it captures. Call .NoSelf() if the captured values never change the result, .KeyBy(...) to build the key yourself, " +
                        "or pass the value as an argument (or capture it through a field, keyed with the instance).",
                        paramName);
                }
            }
        }
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Reads the members of argument types that the wrapped function receives; members trimmed away are read by nothing.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "As above.")]
    private static bool Compute(Type type, HashSet<Type> visiting, int depth)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (ArgText.IsKnown(underlying) && underlying != typeof(byte[]))
        {
            return true;
        }

        if (underlying == typeof(CancellationToken))
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
                    if (field.FieldType == typeof(Type) && field.Name == "EqualityContract")
                    {
                        continue;
                    }

                    if (!Compute(field.FieldType, visiting, depth + 1))
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
