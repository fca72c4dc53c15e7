using System.Collections.Concurrent;

namespace CachifyNet.Benchmarks.Infrastructure;

/// <summary>
/// The memoizer people write first: the arguments joined into a string key, a <see cref="Lazy{T}"/> per key for
/// single execution. No expiry, no invalidation. The floor Cachify must clearly beat.
/// </summary>
public static class NaiveMemoizer
{
    public static Func<TResult> Memoize<TResult>(Func<TResult> func)
    {
        var cache = new ConcurrentDictionary<string, Lazy<TResult>>();
        // No arguments: the joined key is the empty string.
        return () => cache.GetOrAdd(string.Empty, _ => new Lazy<TResult>(func)).Value;
    }

    public static Func<T1, TResult> Memoize<T1, TResult>(Func<T1, TResult> func)
    {
        var cache = new ConcurrentDictionary<string, Lazy<TResult>>();
        return a1 => cache.GetOrAdd(string.Join(",", a1), _ => new Lazy<TResult>(() => func(a1))).Value;
    }

    public static Func<T1, T2, T3, TResult> Memoize<T1, T2, T3, TResult>(Func<T1, T2, T3, TResult> func)
    {
        var cache = new ConcurrentDictionary<string, Lazy<TResult>>();
        return (a1, a2, a3) => cache.GetOrAdd(string.Join(",", a1, a2, a3), _ => new Lazy<TResult>(() => func(a1, a2, a3))).Value;
    }
}
