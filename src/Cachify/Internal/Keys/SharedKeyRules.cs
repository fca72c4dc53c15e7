using System.Globalization;

namespace CachifyNet.Internal;

/// <summary>
/// What may become a key of a store shared by processes (Redis, a <c>CacheStore</c>), checked when a wrapper is bound.
/// A closure's captured values are part of its keys, as in memory; an instance (a method's <c>this</c>, or one a closure
/// captured) has no text that means the same in another process and is refused.
/// </summary>
internal static class SharedKeyRules
{
    /// <summary>The argument bits that are written into the key: none under <c>KeyBy</c> (its string is the whole argument part).</summary>
    public static int KeyMask(WrapperConfig config) => config.KeyBy is null ? config.KeyMask : 0;

    /// <summary>Function identity plus key shape, as it appears in the key.</summary>
    public static string Identity(WrapperConfig config) => config.Identity + config.KeyShape;

    /// <summary>Throws when the wrapper cannot be keyed in <paramref name="store"/>, shared by processes; the message names the fix.</summary>
    public static void Validate(WrapperConfig config, string paramName, string store)
    {
        var function = config.Function;
        var mask = KeyMask(config);

        // Where the fix goes: in the wrapper's chain, in any order (the settings are checked when the wrapper binds).
        const string before = " where it is wrapped (in any order with .Backend(...), or an option that picks the backend such as .UseRedis())";
        const string call = "Where it is wrapped, call";
        for (var i = 0; i < function.ParameterTypes.Length; i++)
        {
            var type = function.ParameterTypes[i];
            if ((mask & (1 << i)) != 0 && !KeyJson.IsKeyable(type, out var reason))
            {
                var name = function.ParameterNames[i];
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"Parameter '{name}' ({TypeNames.Short(type)}) of {config.DisplayName} cannot be part of a {store} key: {reason}. ") +
                    $"Call .IgnoreArgs(\"{name}\") if it does not change the result, or .KeyBy(...) to build the key yourself,{before}.",
                    paramName);
            }
        }

        if (!config.KeyHasTarget)
        {
            return;
        }

        // The target is keyed as in memory (Named names the function; it does not change what is keyed): an instance by
        // reference, which has no meaning in another process, and a closure's captured values by their text.
        if (function.TargetHasInstance)
        {
            var what = function.Closure is null
                ? "is a method of an object instance"
                : "is a lambda that uses an object instance ('this', or a captured service whose state its public members do not show)";
            throw new ArgumentException(
                $"{config.DisplayName} {what}. In memory its entries are kept per instance; in a store shared by processes ({store}), an instance has no key, " +
                $"so the wrapper is refused rather than mix the results of different instances. {call} " +
                ".NoSelf() if every instance computes the same results (the usual case for a service), or .KeyBy(...) to put what matters into the key. " +
                "For a method of a scoped service (one instance per request), register it with services.AddCachedFunc<TService, ...>(...) instead: " +
                "each execution then resolves the service from its own scope (docs/aspnetcore.md).",
                paramName);
        }

        foreach (var captured in function.Closure!.Values)
        {
            if (!KeyJson.IsKeyable(captured.Type, out var reason))
            {
                throw new ArgumentException(
                    $"{config.DisplayName} captures '{captured.Name}' ({TypeNames.Short(captured.Type)}), which cannot be part of a {store} key: {reason}. " +
                    $"A closure is keyed by what it captures. {call} .NoSelf() if the captured values never change the result, " +
                    ".KeyBy(...) to build the key yourself, or pass the value as an argument.",
                    paramName);
            }
        }
    }
}
