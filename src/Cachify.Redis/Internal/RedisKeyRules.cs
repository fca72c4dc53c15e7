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
    public static int KeyMask(WrapperConfig config) => SharedKeyRules.KeyMask(config);

    /// <summary>The text of an argument that is not a built-in type: its JSON, with runtime types where they differ from the declared one (see <see cref="KeyJson"/>).</summary>
    public static string ObjectText(object value, Type declaredType) => KeyJson.Text(value, declaredType);

    /// <summary>Function identity plus key shape, as it appears inside the key's hash tag.</summary>
    public static string Identity(WrapperConfig config) => SharedKeyRules.Identity(config);

    /// <summary>Throws when the wrapper cannot be keyed in Redis; the message names the fix.</summary>
    public static void Validate(WrapperConfig config, string paramName) => SharedKeyRules.Validate(config, paramName, "Redis", ".UseRedis()");

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
