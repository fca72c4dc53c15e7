using System.Globalization;
using System.Text;
using CachifyNet.Internal;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// What may become a Redis key, checked when a wrapper is bound (its first call; at <c>.Backend(redis)</c> for an explicit backend), and the
/// pieces keys are built from. A closure's captured values are part of its keys, as in memory; an instance (a method's
/// <c>this</c>, or one a closure captured) has no text that means the same in another process and is refused.
/// </summary>
internal static class RedisKeyRules
{
    /// <summary>The argument bits that are written into the key: none under <c>KeyBy</c> (its string is the whole argument part).</summary>
    public static int KeyMask(WrapperConfig config) => config.KeyBy is null ? config.KeyMask : 0;

    /// <summary>The text of an argument that is not a built-in type: its JSON, with runtime types where they differ from the declared one (see <see cref="KeyJson"/>).</summary>
    public static string ObjectText(object value, Type declaredType) => KeyJson.Text(value, declaredType);

    /// <summary>Function identity plus key shape, as it appears inside the key's hash tag.</summary>
    public static string Identity(WrapperConfig config) => config.Identity + config.KeyShape;

    /// <summary>
    /// Points the wrapper at the backend <see cref="CachifyRedis.Backend"/> names at its first call. Nothing is checked
    /// here: options may follow (<c>.UseRedis().NoSelf()</c> is <c>.NoSelf().UseRedis()</c>), so the final settings are
    /// validated when the wrapper binds (<see cref="RedisCacheBackend"/>'s keyspace), at its first call.
    /// </summary>
    public static WrapperConfig UseRedis(WrapperConfig config) => config.WithDefaults(RedisDefaults.Over(config.Defaults));

    /// <summary>Throws when the wrapper cannot be keyed in a store shared by processes; the message names the fix.</summary>
    public static void Validate(WrapperConfig config, string paramName)
    {
        var function = config.Function;
        var mask = KeyMask(config);

        // Where the fix goes: in the wrapper's chain, in any order (the settings are checked when the wrapper binds).
        const string before = " where it is wrapped (in any order with .Backend(...) or .UseRedis())";
        const string call = "Where it is wrapped, call";
        for (var i = 0; i < function.ParameterTypes.Length; i++)
        {
            var type = function.ParameterTypes[i];
            if ((mask & (1 << i)) != 0 && !KeyJson.IsKeyable(type, out var reason))
            {
                var name = function.ParameterNames[i];
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"Parameter '{name}' ({TypeNames.Short(type)}) of {config.DisplayName} cannot be part of a Redis key: {reason}. ") +
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
                $"{config.DisplayName} {what}. In memory its entries are kept per instance; in Redis, shared by processes, an instance has no key, " +
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
                    $"{config.DisplayName} captures '{captured.Name}' ({TypeNames.Short(captured.Type)}), which cannot be part of a Redis key: {reason}. " +
                    $"A closure is keyed by what it captures. {call} .NoSelf() if the captured values never change the result, " +
                    ".KeyBy(...) to build the key yourself, or pass the value as an argument.",
                    paramName);
            }
        }
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming <c>RedisCacheOptions.KeyPrefix</c> when the prefix cannot be used.</summary>
    public static void ValidatePrefix(string? prefix, string paramName)
    {
        const string Rules = "It must be non-empty, without white space, control characters, ':' (a prefix \"x:lock\" would collide with the lock keys of \"x\"), braces (Redis Cluster hash tags) or glob characters (* ? [ ] \\, which would break SCAN patterns). Use a name such as \"myapp\".";
        if (string.IsNullOrEmpty(prefix))
        {
            throw new ArgumentException("RedisCacheOptions.KeyPrefix is empty. " + Rules, paramName);
        }

        foreach (var c in prefix)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is ':' or '{' or '}' or '*' or '?' or '[' or ']' or '\\')
            {
                var shown = char.IsWhiteSpace(c) || char.IsControl(c) ? "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture) : c.ToString();
                throw new ArgumentException($"RedisCacheOptions.KeyPrefix \"{prefix}\" contains '{shown}'. " + Rules, paramName);
            }
        }
    }

    /// <summary>Escapes the glob characters of <paramref name="text"/> for a SCAN MATCH pattern.</summary>
    public static string GlobEscape(string text)
    {
        if (text.AsSpan().IndexOfAny("*?[]\\") < 0)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.ToString();
    }
}
