namespace CachifyNet;

/// <summary>
/// The fluent options every cached function has, whatever its number of arguments and whether it is synchronous:
/// implemented by <see cref="CachedFunc{TResult}"/>, <see cref="AsyncCachedFunc{TResult}"/>, their forms of 1 to 8
/// arguments and their <c>Cancellable…</c> forms. It lets a package write one extension method that configures any
/// cached function and returns it with its own type, as Cachify.Redis' <c>UseRedis()</c> does.
/// </summary>
/// <typeparam name="TSelf">The cached function's own type, which every option returns.</typeparam>
/// <remarks>
/// Each member is the option of the same name on the wrapper types, documented there. Only Cachify's wrappers
/// implement this interface; it is meant to be used as a generic constraint, and members may be added to it.
/// </remarks>
/// <example>
/// An option of a storage package, usable on every cached function, that picks its backend at the wrapper's first call:
/// <code>
/// public static class MyStoreCachedFunctionExtensions
/// {
///     public static TCached UseMyStore&lt;TCached&gt;(this TCached cached)
///         where TCached : ICachedFunction&lt;TCached&gt;
///         =&gt; cached.Backend(static () =&gt; MyStore.Backend);
/// }
///
/// var getUser = Cachify.Wrap((int id) =&gt; db.GetUserAsync(id)).Named("users.get").UseMyStore(); // AsyncCachedFunc&lt;int, User&gt;
/// </code>
/// </example>
public interface ICachedFunction<TSelf>
    where TSelf : ICachedFunction<TSelf>
{
    /// <summary>Returns a cached function whose entries live for <paramref name="ttl"/>.</summary>
    /// <param name="ttl">The lifetime of an entry, from when it is stored.</param>
    /// <returns>A new cached function; this one is unchanged.</returns>
    TSelf Ttl(TimeSpan ttl);

    /// <summary>Returns a cached function whose entries are refreshed in the background at each TTL instead of expiring.</summary>
    /// <returns>A new cached function; this one is unchanged.</returns>
    TSelf NeverDie();

    /// <summary>Like <see cref="NeverDie()"/>, but an entry nobody read for <paramref name="idleTimeout"/> stops being refreshed and is removed.</summary>
    /// <param name="idleTimeout">How long an entry may go unread before refreshing stops.</param>
    /// <returns>A new cached function; this one is unchanged.</returns>
    TSelf NeverDie(TimeSpan idleTimeout);

    /// <summary>Returns a cached function whose keys leave out the named parameters.</summary>
    /// <param name="names">Parameter names of the wrapped function.</param>
    /// <returns>A new cached function; this one is unchanged.</returns>
    TSelf IgnoreArgs(params string[] names);

    /// <summary>Returns a cached function whose keys leave out the delegate's target (an instance, or a lambda's closure).</summary>
    /// <returns>A new cached function; this one is unchanged.</returns>
    TSelf NoSelf();

    /// <summary>Returns a cached function with an explicit, stable function identity.</summary>
    /// <param name="name">The identity, such as "users.get".</param>
    /// <returns>A new cached function; this one is unchanged.</returns>
    TSelf Named(string name);

    /// <summary>Returns a cached function whose callers wait at most <paramref name="timeout"/> for an execution.</summary>
    /// <param name="timeout">The longest wait.</param>
    /// <returns>A new cached function; this one is unchanged.</returns>
    TSelf Timeout(TimeSpan timeout);

    /// <summary>Returns a cached function whose callers take a stale value after waiting <paramref name="softTimeout"/> for an execution.</summary>
    /// <param name="softTimeout">How long a caller waits before it takes a stale value.</param>
    /// <param name="maxStale">The oldest value served this way, measured from when it was stored.</param>
    /// <returns>A new cached function; this one is unchanged.</returns>
    TSelf SoftTimeout(TimeSpan softTimeout, TimeSpan maxStale);

    /// <summary>Returns a cached function that keeps its entries in <paramref name="backend"/>.</summary>
    /// <param name="backend">The backend.</param>
    /// <returns>A new cached function; this one is unchanged.</returns>
    TSelf Backend(ICacheBackend backend);

    /// <summary>
    /// Returns a cached function that keeps its entries in the backend <paramref name="backend"/> returns, called at the
    /// cached function's first call, and again at the first call after the backend it returned is disposed.
    /// </summary>
    /// <param name="backend">Returns the backend to use now.</param>
    /// <returns>A new cached function; this one is unchanged.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="backend"/> is null.</exception>
    TSelf Backend(Func<ICacheBackend> backend);
}
