using System.Diagnostics.CodeAnalysis;
using CachifyNet.Stores;
using Microsoft.Extensions.Logging;

namespace CachifyNet.Redis;

/// <summary>Options of a <see cref="RedisCacheBackend"/>. Validated when the backend is created.</summary>
public sealed class RedisCacheOptions
{
    /// <summary>The longest <see cref="LockTimeout"/> and <see cref="LockWaitTimeout"/> allowed.</summary>
    internal static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(1);

    private readonly TimeSpan? _lockWaitTimeout;
    private readonly ICacheSerializer? _serializer;
    private readonly TimeProvider? _timeProvider;
    private readonly LocalCacheOptions? _localCache;

    private static readonly LocalCacheOptions DefaultLocalCache = new();

    /// <summary>
    /// Gets the first part of every key this backend writes: values at <c>{{KeyPrefix}:v:…}</c>, their locks at
    /// <c>{{KeyPrefix}:v:…}:lock</c>, generations at <c>{{KeyPrefix}:g:…}</c>, so <c>SCAN MATCH {{KeyPrefix}:*</c> finds
    /// them all; the backplane's channel is <c>{KeyPrefix}:backplane</c>. Backends with different prefixes on one Redis
    /// never see each other's entries.
    /// </summary>
    /// <value>
    /// The default is <c>"cachify"</c>. Must be non-empty, without white space, control characters, <c>':'</c>,
    /// braces or glob characters (<c>* ? [ ] \</c>).
    /// </value>
    public string KeyPrefix { get; init; } = "cachify";

    /// <summary>
    /// Gets the lifetime of a distributed lock. The process running a function renews its lock every third of this
    /// time, so a slow function keeps it; a lock whose owner died expires after this time, and a waiting process
    /// takes over then, never earlier.
    /// </summary>
    /// <value>The default is 10 seconds. Must be between 100 milliseconds and 1 day.</value>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets the longest a caller waits for another process's execution of the same key. After it, the caller runs
    /// the function itself without caching the result (<see cref="RedisErrorMode.Silent"/>) or throws a
    /// <see cref="CachifyException"/> (<see cref="RedisErrorMode.Throw"/>), rather than hang.
    /// </summary>
    /// <value>The default is twice <see cref="LockTimeout"/>, at most 1 day. Must be positive and at most 1 day.</value>
    public TimeSpan LockWaitTimeout
    {
        // Capped, so that any valid LockTimeout gives a valid default; never overflows, whatever LockTimeout holds.
        get => _lockWaitTimeout ?? (LockTimeout > MaxTimeout / 2 ? MaxTimeout : LockTimeout <= TimeSpan.Zero ? LockTimeout : LockTimeout * 2);
        init => _lockWaitTimeout = value;
    }

    /// <summary>Gets what happens when Redis fails.</summary>
    /// <value>The default is <see cref="RedisErrorMode.Silent"/>: the function runs and its result is returned uncached (a failed Invalidate or Clear throws in either mode).</value>
    public RedisErrorMode OnError { get; init; } = RedisErrorMode.Silent;

    /// <summary>
    /// Gets how results are turned into bytes. With a <see cref="SystemTextJsonCacheSerializer"/>, each wrapper's result
    /// type is checked when the wrapper is bound, and one that would lose state is refused with an
    /// <see cref="ArgumentException"/> naming the member and the fix; any other serializer is trusted to round-trip
    /// (see <see cref="ICacheSerializer"/>).
    /// </summary>
    /// <value>The default (also when set to null) is <see cref="SystemTextJsonCacheSerializer.Default"/>.</value>
    [AllowNull]
    public ICacheSerializer Serializer
    {
        get => _serializer ?? SystemTextJsonCacheSerializer.Default;
        init => _serializer = value;
    }

    /// <summary>
    /// Gets the clock that measures entry ages (a reader's TTL check, when a never-die entry is due) and schedules
    /// never-die refreshes and their idle limit. Redis expires keys and locks in real time, and the backplane's
    /// heartbeats follow real time. Ages are the writer's clock against the reader's: keep the machines' clocks in sync.
    /// </summary>
    /// <value>
    /// The default (also when set to null) is <see cref="System.TimeProvider.System"/>; with <c>AddCachifyRedis</c>, the
    /// app's registered <see cref="System.TimeProvider"/> if there is one.
    /// </value>
    [AllowNull]
    public TimeProvider TimeProvider
    {
        get => _timeProvider ?? System.TimeProvider.System;
        init => _timeProvider = value;
    }

    /// <summary>
    /// Gets the local level: copies of the entries this process reads and writes, kept in its memory so that a hit costs
    /// no round trip. A copy expires with its entry, and a backplane over Redis pub/sub (channel
    /// <c>{KeyPrefix}:backplane</c>) drops it in every process as soon as any process stores, refreshes, invalidates or
    /// clears the entry. While the backplane is lost, copies are not trusted: reads go to Redis (and fall back to the copy
    /// only if Redis fails too, in <see cref="RedisErrorMode.Silent"/> mode).
    /// </summary>
    /// <value>The default is on, with the defaults of <see cref="LocalCacheOptions"/>. Set <c>new() { Enabled = false }</c> to read Redis every time.</value>
    [AllowNull]
    public LocalCacheOptions LocalCache
    {
        get => _localCache ?? DefaultLocalCache;
        init => _localCache = value;
    }

    /// <summary>Gets the factory of the logger that reports Redis errors and failed refreshes.</summary>
    /// <value>The default is none (nothing is logged).</value>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>A copy that takes the app's clock and logging where these options leave them unset (dependency injection).</summary>
    internal RedisCacheOptions WithServices(TimeProvider? timeProvider, ILoggerFactory? loggerFactory) => new()
    {
        KeyPrefix = KeyPrefix,
        LockTimeout = LockTimeout,
        LockWaitTimeout = LockWaitTimeout,
        OnError = OnError,
        Serializer = _serializer,
        LocalCache = _localCache,
        TimeProvider = _timeProvider ?? timeProvider,
        LoggerFactory = LoggerFactory ?? loggerFactory,
    };
}
