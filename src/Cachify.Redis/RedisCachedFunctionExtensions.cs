namespace CachifyNet.Redis;

/// <summary>
/// <c>UseRedis()</c>: puts a cached function on the Redis backend set up by <see cref="CachifyRedis.Configure"/>,
/// the counterpart of Python cachify's <c>rcache</c>.
/// </summary>
public static class RedisCachedFunctionExtensions
{
    // One delegate for every wrapper: wrappers of one function with the same options share their settings, and their binding.
    private static readonly Func<ICacheBackend> CurrentBackend = static () => CachifyRedis.Backend;

    /// <summary>
    /// Returns a cached function that keeps its entries in the Redis backend set up by <see cref="CachifyRedis.Configure"/>, or
    /// else registered by <c>AddCachifyRedis</c> in a started host (<see cref="CachifyRedis.Backend"/>). The backend is looked
    /// up at the cached function's first call, so it may be created (for example in a static field) before setup runs, and
    /// again after that backend is disposed (<see cref="CachifyRedis.Reset"/>, a stopped host), so it follows the current setup.
    /// </summary>
    /// <typeparam name="TCached">
    /// The cached function's type: any <see cref="CachedFunc{TResult}"/>, <see cref="AsyncCachedFunc{TResult}"/> or their forms
    /// with more arguments or a trailing token. Inferred: <c>Cachify.Wrap(...).UseRedis()</c>.
    /// </typeparam>
    /// <param name="cached">The cached function.</param>
    /// <returns>
    /// A new cached function of the same type; <paramref name="cached"/> is unchanged. An explicit <c>Backend(...)</c> set before is
    /// replaced; one set after wins. The TTL of a function that does not set one is still <see cref="Cachify.DefaultTtl"/>, or the
    /// <see cref="ICachify.DefaultTtl"/> of the <see cref="ICachify"/> it was wrapped with.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="cached"/> is null.</exception>
    /// <remarks>
    /// Options may come before or after <c>UseRedis()</c>: the final settings are checked at the first call, which throws
    /// <see cref="ArgumentException"/> when a parameter that is part of the key has no stable text form or the function's
    /// target is an instance (call <c>NoSelf</c>, <c>IgnoreArgs</c> or <c>KeyBy</c>, as the message says), and
    /// <see cref="InvalidOperationException"/> when no Redis backend is set up by then. It is
    /// <c>cached.Backend(() =&gt; CachifyRedis.Backend)</c>.
    /// </remarks>
    public static TCached UseRedis<TCached>(this TCached cached)
        where TCached : ICachedFunction<TCached>
    {
        ArgumentNullException.ThrowIfNull(cached);
        return cached.Backend(CurrentBackend);
    }
}
