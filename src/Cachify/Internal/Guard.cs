using System.Globalization;

namespace CachifyNet.Internal;

/// <summary>Configure-time validation with messages that name the argument and the fix.</summary>
internal static class Guard
{
    /// <summary>The longest finite TTL. Longer lifetimes are better expressed as <see cref="Timeout.InfiniteTimeSpan"/>.</summary>
    public static readonly TimeSpan MaxTtl = TimeSpan.FromDays(365);

    /// <summary>Longest accepted function name.</summary>
    public const int MaxNameLength = 256;

    public static void Ttl(TimeSpan ttl, string paramName, bool allowInfinite = true)
    {
        if (ttl == Timeout.InfiniteTimeSpan)
        {
            if (allowInfinite)
            {
                return;
            }

            throw new ArgumentOutOfRangeException(paramName, ttl, "The default TTL must be finite. Set a duration such as TimeSpan.FromMinutes(5); use Ttl(Timeout.InfiniteTimeSpan) on the functions that should never expire.");
        }

        if (ttl <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, ttl, "TTL must be positive. Pass a duration such as TimeSpan.FromMinutes(5), or Timeout.InfiniteTimeSpan for entries that never expire.");
        }

        if (ttl > MaxTtl)
        {
            throw new ArgumentOutOfRangeException(paramName, ttl, "TTL must be at most 365 days. Use Timeout.InfiniteTimeSpan for entries that never expire.");
        }
    }

    public static void Positive(TimeSpan value, string paramName, string message)
    {
        if (value <= TimeSpan.Zero || value > MaxTtl)
        {
            throw new ArgumentOutOfRangeException(paramName, value, message + " It must be more than zero and at most 365 days.");
        }
    }

    public static void Name(string name, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        if (name.Length == 0 || name.Length > MaxNameLength)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"A function name must have 1 to {MaxNameLength} characters, such as \"users.get\"."),
                paramName);
        }

        foreach (var c in name)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is ':' or '{' or '}')
            {
                throw new ArgumentException(
                    $"The function name \"{name}\" contains '{Printable(c)}'. Names may not contain white space, control characters, ':' (the key separator) or braces (Redis Cluster hash tags); use a name such as \"users.get\".",
                    paramName);
            }
        }
    }

    private static string Printable(char c) => char.IsControl(c) || char.IsWhiteSpace(c)
        ? "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture)
        : c.ToString();
}
