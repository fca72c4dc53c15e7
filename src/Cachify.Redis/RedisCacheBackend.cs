using CachifyNet.Stores;
using StackExchange.Redis;

namespace CachifyNet.Redis;

/// <summary>
/// Keeps entries in Redis, shared by every process that uses the same Redis and <see cref="RedisCacheOptions.KeyPrefix"/>,
/// with a lock per key so that concurrent callers in all processes run the function once, and a local level in front:
/// copies of the entries this process reads and writes, dropped in every process as soon as any process changes them.
/// </summary>
/// <remarks>
/// <para>
/// It is a <see cref="CacheStoreBackend"/> over a <see cref="RedisCacheStore"/> with a <see cref="RedisBackplane"/> on
/// <c>{KeyPrefix}:backplane</c>: the engine every store runs on, with Redis as its store, lock and backplane. A value lives
/// at <c>{{KeyPrefix}:v:{identity}:{arguments}}</c> and its lock beside it (<c>…}:lock</c>, one Redis Cluster slot), and
/// each function's generation at <c>{{KeyPrefix}:g:{identity}}</c>: Clear writes a new one (entries written before are
/// never served again), then removes the old entries with SCAN. The identity is the <c>Named(...)</c> name or the
/// method's identity; the arguments are written as stable, culture-invariant text (hashed when long). A function whose
/// keys would depend on an object instance is refused: <c>Named</c>, <c>NoSelf</c> or <c>KeyBy</c> fix it.
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
public sealed class RedisCacheBackend : CacheStoreBackend
{
    private static readonly TimeSpan MinLockTimeout = TimeSpan.FromMilliseconds(100);

    private readonly RedisBackplane _backplane;

    /// <summary>Creates a backend over a connection the application owns.</summary>
    /// <param name="connection">The multiplexer; the backend does not dispose it.</param>
    /// <param name="options">Key prefix, lock timing, error mode, serializer, clock and logging; null for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is invalid (the message names it and the fix).</exception>
    public RedisCacheBackend(IConnectionMultiplexer connection, RedisCacheOptions? options = null)
        : this(connection, Checked(connection, options))
    {
    }

    private RedisCacheBackend(IConnectionMultiplexer connection, (RedisCacheOptions Redis, CacheStoreBackendOptions Store) options)
        : base(new RedisCacheStore(connection), options.Store)
    {
        Connection = connection;
        Options = options.Redis;
        _backplane = (RedisBackplane)options.Store.Backplane!;
    }

    /// <summary>Gets the connection the backend uses.</summary>
    public IConnectionMultiplexer Connection { get; }

    /// <summary>Gets the options the backend was created with.</summary>
    public new RedisCacheOptions Options { get; }

    /// <summary>Whether local copies are trusted: the backplane is subscribed (tests wait for it before relying on copies).</summary>
    internal bool LocalLevelTrusted => !Options.LocalCache.Enabled || _backplane.IsConnected;

    /// <summary>The backplane on <c>{KeyPrefix}:backplane</c> (tests wait for it to be subscribed).</summary>
    internal RedisBackplane Backplane => _backplane;

    /// <summary>Whether the backend was disposed.</summary>
    internal bool IsDisposed { get; private set; }

    /// <summary>Stops never-die refreshes, the backplane and the store, for good. Entries stay in Redis for other processes.</summary>
    /// <param name="disposing">True when called from <see cref="CacheStoreBackend.Dispose()"/>.</param>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !IsDisposed)
        {
            IsDisposed = true;
            CachifyRedis.Unregister(this);
            base.Dispose(disposing);
            _backplane.Dispose();
            ((RedisCacheStore)Store).Dispose();
        }
    }

    /// <summary>Checks the options (also used by <c>AddCachifyRedis</c> at registration); the message names the option and the fix.</summary>
    internal static void Validate(RedisCacheOptions options)
    {
        ValidatePrefix(options.KeyPrefix, nameof(options));
        // All checked here, naming RedisCacheOptions, so that the store backend (and its backplane) is only built from valid options.
        if (options.LocalCache is null)
        {
            throw new ArgumentException("RedisCacheOptions.LocalCache is null. Leave it unset for the defaults, or set new LocalCacheOptions { Enabled = false } to read Redis every time.", nameof(options));
        }

        if (options.LocalCache.SizeLimit <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.LocalCache.SizeLimit, "RedisCacheOptions.LocalCache.SizeLimit must be positive (it is the most copies the local level holds). Use at least 1, or Enabled = false.");
        }

        if (options.LocalCache.MaxLifetime is { } max && max <= TimeSpan.Zero && max != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(options), max, "RedisCacheOptions.LocalCache.MaxLifetime must be positive. Leave it null for the default, or set Enabled = false to read Redis every time.");
        }

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

    /// <summary>The options checked, and the store backend's options they make, with the backplane on <c>{KeyPrefix}:backplane</c>.</summary>
    private static (RedisCacheOptions, CacheStoreBackendOptions) Checked(IConnectionMultiplexer connection, RedisCacheOptions? options)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options ??= new RedisCacheOptions();
        Validate(options);
        var store = new CacheStoreBackendOptions
        {
            KeyPrefix = options.KeyPrefix,
            OnError = options.OnError == RedisErrorMode.Throw ? CacheStoreErrorMode.Throw : CacheStoreErrorMode.Silent,
            Serializer = options.Serializer,
            TimeProvider = options.TimeProvider,
            LocalCache = options.LocalCache,
            LockTimeout = options.LockTimeout,
            LockWaitTimeout = options.LockWaitTimeout,
            LoggerFactory = options.LoggerFactory,

            // Its heartbeats follow real time whatever the backend's clock, because a lost subscription is lost in real
            // time. It also wakes callers waiting for another process's lock, so it runs with the local level off too.
            Backplane = new RedisBackplane(connection, new RedisBackplaneOptions { Channel = options.KeyPrefix + ":backplane", LoggerFactory = options.LoggerFactory }),
        };
        return (options, store);
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming <c>RedisCacheOptions.KeyPrefix</c> when the prefix cannot be used.</summary>
    private static void ValidatePrefix(string? prefix, string paramName)
    {
        const string Rules = "It must be non-empty, without white space, control characters, ':' (a prefix \"x:g\" would collide with the generation keys of \"x\"), braces (Redis Cluster hash tags) or glob characters (* ? [ ] \\, which would break SCAN patterns). Use a name such as \"myapp\".";
        if (string.IsNullOrEmpty(prefix))
        {
            throw new ArgumentException("RedisCacheOptions.KeyPrefix is empty. " + Rules, paramName);
        }

        foreach (var c in prefix)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is ':' or '{' or '}' or '*' or '?' or '[' or ']' or '\\')
            {
                var shown = char.IsWhiteSpace(c) || char.IsControl(c) ? "\\u" + ((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture) : c.ToString();
                throw new ArgumentException($"RedisCacheOptions.KeyPrefix \"{prefix}\" contains '{shown}'. " + Rules, paramName);
            }
        }
    }
}
