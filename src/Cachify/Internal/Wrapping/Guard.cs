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
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is ':' or '{' or '}' or '~')
            {
                throw new ArgumentException(
                    $"The function name \"{name}\" contains '{Printable(c)}'. Names may not contain white space, control characters, ':' (the key separator), '~' (it marks key settings such as IgnoreArgs and NeverDie) or braces (Redis Cluster hash tags); use a name such as \"users.get\".",
                    paramName);
            }
        }
    }

    /// <summary>
    /// Refuses a task (<see cref="Task"/>, <see cref="Task{TResult}"/>, <see cref="ValueTask"/>, <see cref="ValueTask{TResult}"/>)
    /// as the result of a function given to a synchronous <c>Wrap</c>: the task object itself would be cached, so a faulted
    /// task would be served to every later caller and a <see cref="ValueTask"/> awaited more than once.
    /// </summary>
    public static void SyncResult(Type result, string paramName)
    {
        var isValueTask = result == typeof(ValueTask) || (result.IsGenericType && result.GetGenericTypeDefinition() == typeof(ValueTask<>));
        if (!isValueTask && !typeof(Task).IsAssignableFrom(result))
        {
            return;
        }

        var name = TypeNames.Short(result);
        string fix;
        if (!HasResult(result))
        {
            fix = $"{name} has no result to cache: return Task<TResult> with the value to cache (for example Task<bool>), which gets an asynchronous wrapper.";
        }
        else if (isValueTask)
        {
            fix = "Asynchronous wrappers take functions returning Task<TResult>: convert the ValueTask with .AsTask() (id => LoadAsync(id).AsTask()) or make the lambda async (async id => await LoadAsync(id)).";
        }
        else
        {
            fix = "Pass it as a function returning Task<TResult> so that it binds to the asynchronous Wrap overload, which caches the task's result (for example Cachify.Wrap<int, User>(repo.GetUserAsync), not Cachify.Wrap<int, Task<User>>(...)).";
        }

        throw new ArgumentException(
            $"The function returns {name}, and a synchronous wrapper would cache the task object itself: a faulted task would be served to every later caller, although exceptions are never cached. {fix}",
            paramName);
    }

    /// <summary>Whether a task type carries a result (it is, or derives from, <see cref="Task{TResult}"/> or <see cref="ValueTask{TResult}"/>).</summary>
    private static bool HasResult(Type task)
    {
        for (var type = task; type is not null; type = type.BaseType)
        {
            if (type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(Task<>) || type.GetGenericTypeDefinition() == typeof(ValueTask<>)))
            {
                return true;
            }
        }

        return false;
    }

    private static string Printable(char c) => char.IsControl(c) || char.IsWhiteSpace(c)
        ? "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture)
        : c.ToString();
}
