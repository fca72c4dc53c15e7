using CachifyNet.Internal;
using CachifyNet.Redis.Internal;
using StackExchange.Redis;

namespace CachifyNet.Redis;

/// <summary>
/// Keeps entries in Redis, shared by every process that uses the same Redis and <see cref="RedisCacheOptions.KeyPrefix"/>,
/// with a distributed lock per key so that concurrent callers in all processes run the function once.
/// </summary>
/// <remarks>
/// <para>
/// A value lives at <c>{prefix}:{identity:arguments}</c> and its lock at <c>{prefix}:lock:{identity:arguments}</c>; the
/// braces are a Redis Cluster hash tag, so an entry's keys share one slot. The identity is the <c>Named(...)</c> name or
/// the method's identity; the arguments are written as stable, culture-invariant text (hashed when long). The
/// delegate's target is never part of a key: a function with a target must be <c>Named</c>, <c>NoSelf</c> or <c>KeyBy</c>.
/// </para>
/// <para>
/// Synchronous cached functions use the synchronous StackExchange.Redis API, asynchronous ones the asynchronous API.
/// The backend does not own the connection: dispose the multiplexer yourself, after the backend.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var redis = new RedisCacheBackend(ConnectionMultiplexer.Connect("localhost"), new RedisCacheOptions { KeyPrefix = "myapp" });
/// var getUser = Cachify.Wrap((int id) =&gt; db.GetUserAsync(id)).Named("users.get").Backend(redis);
/// </code>
/// </example>
public sealed class RedisCacheBackend : ICacheBackend, IDisposable
{
    private static readonly TimeSpan MinLockTimeout = TimeSpan.FromMilliseconds(100);

    private readonly BackendServices _services;
    private readonly RedisContext _redis;
    private readonly LocalHub? _local;
    private readonly RedisBackplane? _backplane;

    /// <summary>Creates a backend over a connection the application owns.</summary>
    /// <param name="connection">The multiplexer; the backend does not dispose it.</param>
    /// <param name="options">Key prefix, lock timing, error mode, serializer, clock and logging; null for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is invalid (the message names it and the fix).</exception>
    public RedisCacheBackend(IConnectionMultiplexer connection, RedisCacheOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options ??= new RedisCacheOptions();
        Validate(options);
        Connection = connection;
        Options = options;
        _services = new BackendServices(nameof(RedisCacheBackend), RedisTelemetry.Kind, options.TimeProvider, options.LoggerFactory) { WritesKeysAsText = true };
        if (options.LocalCache.Enabled)
        {
            _backplane = CreateBackplane(connection, options);
            _local = new LocalHub(_services, options.LocalCache, _backplane);
        }

        _redis = new RedisContext(connection, options, _services) { Local = _local };
        RedisTelemetry.Track(_redis.Waiters);
        _local?.Start();
    }

    /// <summary>Gets the connection the backend uses.</summary>
    public IConnectionMultiplexer Connection { get; }

    /// <summary>Gets the options the backend was created with.</summary>
    public RedisCacheOptions Options { get; }

    BackendServices ICacheBackend.Services => _services;

    internal RedisContext Context => _redis;

    /// <summary>Whether local copies are trusted: no local level, or its backplane is subscribed (tests wait for it before relying on copies).</summary>
    internal bool LocalLevelTrusted => _local?.Trusted ?? true;

    /// <summary>Whether <see cref="Dispose"/> has run.</summary>
    internal bool IsDisposed => _services.IsDisposed;

    /// <summary>Stops never-die refreshes and the notification subscription, for good. Entries stay in Redis for other processes.</summary>
    /// <remarks>
    /// Wrappers that use a disposed backend throw <see cref="ObjectDisposedException"/>, and so do callers that were
    /// waiting for another process's lock. An execution still running stores nothing; its lock is no longer renewed, so
    /// it is released when the function ends or expires after at most <see cref="RedisCacheOptions.LockTimeout"/>.
    /// Calling <see cref="Dispose"/> again does nothing.
    /// </remarks>
    public void Dispose()
    {
        CachifyRedis.Unregister(this);
        RedisTelemetry.Untrack(_redis.Waiters);
        _services.Dispose();
        _local?.Dispose();
        _backplane?.Dispose();
        _redis.Dispose();
    }

    /// <summary>
    /// The backplane of the local level: Redis pub/sub on <c>{KeyPrefix}:backplane</c>, on the backend's connection. Its
    /// heartbeats follow real time whatever the backend's clock, because a lost subscription is lost in real time.
    /// </summary>
    private static RedisBackplane CreateBackplane(IConnectionMultiplexer connection, RedisCacheOptions options)
        => new(connection, new RedisBackplaneOptions { Channel = options.KeyPrefix + ":backplane", LoggerFactory = options.LoggerFactory });

    Keyspace<TKey, TValue> ICacheBackend.GetKeyspace<TKey, TValue>(WrapperConfig config)
    {
        RedisKeyRules.Validate(config, "backend");
        var results = ResultContract.Validate<TValue>(_redis.Serializer, config.DisplayName, "backend");
        var identity = RedisKeyRules.Identity(config);
        var mask = RedisKeyRules.KeyMask(config);

        // Same identity, same keys: wrappers share the local single flight. The mask is part of the id because two
        // wrappers of one name may ignore arguments at different positions; whether the target is part of the keys, because
        // such keys have their own type (their texts differ anyway: a closure's captured values come first).
        return _services.GetKeyspace<TKey, TValue>(
            new KeyspaceId(identity, mask, config.KeyHasTarget),
            config.DisplayName,
            () => new RedisKeyspace<TKey, TValue>(_redis, identity, mask, config.DisplayName, results, KeyRules.TypedKeyMatchesText(config)));
    }

    /// <summary>Checks the options (also used by <c>AddCachifyRedis</c> at registration); the message names the option and the fix.</summary>
    internal static void Validate(RedisCacheOptions options)
    {
        RedisKeyRules.ValidatePrefix(options.KeyPrefix, nameof(options));
        LocalHub.Validate(options.LocalCache, nameof(RedisCacheOptions), nameof(options));
        if (options.LockTimeout < MinLockTimeout || options.LockTimeout > RedisCacheOptions.MaxTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.LockTimeout, "RedisCacheOptions.LockTimeout must be between 100 milliseconds and 1 day. It bounds how long a dead process's lock blocks a key; 10 seconds suits most functions.");
        }

        // Unset, it is twice the (valid) LockTimeout, at most 1 day: only a value set explicitly can be out of range.
        if (options.LockWaitTimeout <= TimeSpan.Zero || options.LockWaitTimeout > RedisCacheOptions.MaxTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.LockWaitTimeout, "RedisCacheOptions.LockWaitTimeout is set to a value that is not positive or is over 1 day. Set it between those bounds, or leave it unset for twice the LockTimeout (at most 1 day).");
        }

        if (!Enum.IsDefined(options.OnError))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.OnError, "RedisCacheOptions.OnError must be RedisErrorMode.Silent or RedisErrorMode.Throw.");
        }
    }

    private readonly record struct KeyspaceId(string Identity, int Mask, bool Targeted);
}
