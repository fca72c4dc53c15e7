using Microsoft.Extensions.Logging;

namespace CachifyNet.Stores;

/// <summary>Options of a <see cref="CacheStoreBackend"/>.</summary>
public sealed class CacheStoreBackendOptions
{
    /// <summary>Gets the text every key of the backend starts with, so that apps sharing a store keep apart.</summary>
    /// <value>The default is <c>"cachify"</c>. Non-empty, without white space, control characters, ':' or braces.</value>
    public string KeyPrefix { get; init; } = "cachify";

    /// <summary>Gets what happens when the store fails.</summary>
    /// <value>The default is <see cref="CacheStoreErrorMode.Silent"/>. Invalidate and Clear throw in both modes.</value>
    public CacheStoreErrorMode OnError { get; init; } = CacheStoreErrorMode.Silent;

    /// <summary>Gets the serializer of results.</summary>
    /// <value>The default is <see cref="SystemTextJsonCacheSerializer.Default"/>, whose result types are checked when a wrapper is bound.</value>
    public ICacheSerializer Serializer { get; init; } = SystemTextJsonCacheSerializer.Default;

    /// <summary>Gets the clock: TTLs, entry ages and never-die refreshes follow it.</summary>
    /// <value>The default is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>Gets the local level: copies of entries in this process's memory, so that a hit costs no store read.</summary>
    /// <value>The default is on, with the defaults of <see cref="LocalCacheOptions"/>. Set <c>new() { Enabled = false }</c> to read the store every time.</value>
    public LocalCacheOptions LocalCache { get; init; } = new();

    /// <summary>
    /// Gets the backplane that tells the other processes of the store's changes, so their local copies never outlive a
    /// write, Invalidate or Clear made here by more than its delivery time (Cachify.Redis has <c>RedisBackplane</c>).
    /// </summary>
    /// <value>The default is none: a change made elsewhere shows here once the local copy reaches <see cref="LocalCacheOptions.MaxLifetime"/> (1 second by default).</value>
    public CacheBackplane? Backplane { get; init; }

    /// <summary>
    /// Gets the lease of a store's lock (<see cref="CacheStore.Lock"/>). The process running a function renews its lock
    /// every third of this time, so a slow function keeps it; a lock whose owner died expires after this time, and a
    /// waiting process takes over then, never earlier.
    /// </summary>
    /// <value>The default is 10 seconds. Must be between 100 milliseconds and 1 day. Unused by a store without a lock.</value>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets the longest a caller waits for another process's execution of the same key (stores with a lock). After it,
    /// the caller runs the function itself without storing the result (<see cref="CacheStoreErrorMode.Silent"/>) or
    /// throws a <see cref="CachifyException"/> (<see cref="CacheStoreErrorMode.Throw"/>), rather than hang.
    /// </summary>
    /// <value>The default (null) is twice <see cref="LockTimeout"/>, at most 1 day. Must be positive and at most 1 day.</value>
    public TimeSpan? LockWaitTimeout { get; init; }

    /// <summary>Gets the logger factory (category "Cachify").</summary>
    /// <value>The default logs nothing.</value>
    public ILoggerFactory? LoggerFactory { get; init; }
}
