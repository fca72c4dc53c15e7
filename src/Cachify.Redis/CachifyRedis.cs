using StackExchange.Redis;

namespace CachifyNet.Redis;

/// <summary>
/// One-call global setup of Redis, the counterpart of Python cachify's <c>setup_redis_config</c>: after
/// <see cref="Configure"/>, <c>UseRedis()</c> on any cached function keeps its entries in that backend.
/// </summary>
/// <remarks>
/// In an app with dependency injection, <c>services.AddCachifyRedis(...)</c> is enough: when the host starts (or
/// <see cref="ICachify"/> is first resolved), its backend becomes the one <c>UseRedis()</c> picks, unless
/// <see cref="Configure"/> ran. See docs/redis.md, "Setup: static wrappers and dependency injection".
/// </remarks>
/// <example>
/// <code>
/// CachifyRedis.Configure(ConnectionMultiplexer.Connect("localhost"), new RedisCacheOptions { KeyPrefix = "myapp" });
/// var getUser = Cachify.Wrap((int id) =&gt; db.GetUserAsync(id)).Named("users.get").UseRedis();
/// </code>
/// </example>
public static class CachifyRedis
{
    private static readonly object Sync = new();
    private static RedisCacheBackend? _backend;

    // Backends registered by AddCachifyRedis in started hosts (or resolved containers), newest last; removed when disposed.
    private static readonly List<RedisCacheBackend> Registered = [];
    private static RedisCacheBackend? _registered;

    /// <summary>Gets a value indicating whether <see cref="Configure"/> has run (and <see cref="Reset"/> has not since).</summary>
    public static bool IsConfigured => Volatile.Read(ref _backend) is not null;

    /// <summary>
    /// Gets the backend that <c>UseRedis()</c> picks: the one created by <see cref="Configure"/>, else the one registered by
    /// <c>AddCachifyRedis</c> in the most recently started host that is not disposed.
    /// </summary>
    /// <exception cref="InvalidOperationException">Neither <see cref="Configure"/> has run nor a host with <c>AddCachifyRedis</c> has started.</exception>
    public static RedisCacheBackend Backend => Volatile.Read(ref _backend) ?? Volatile.Read(ref _registered) ?? throw new InvalidOperationException(
        "Cachify's Redis backend is not configured, so a UseRedis() wrapper has no backend. " +
        "In an app with dependency injection, call services.AddCachifyRedis(...) and start the host (or resolve ICachify) before the first call: " +
        "static UseRedis() wrappers then use the registered backend. Without dependency injection, call CachifyRedis.Configure(connection, options) at startup.");

    /// <summary>Creates the global Redis backend that <c>UseRedis()</c> picks.</summary>
    /// <param name="connection">The multiplexer; the application owns it and disposes it after <see cref="Reset"/>.</param>
    /// <param name="options">The backend's options; null for the defaults (prefix "cachify", lock timeout 10 s, Silent).</param>
    /// <returns>The backend, also available as <see cref="Backend"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="InvalidOperationException">Redis is already configured; call <see cref="Reset"/> first.</exception>
    public static RedisCacheBackend Configure(IConnectionMultiplexer connection, RedisCacheOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        lock (Sync)
        {
            if (_backend is not null)
            {
                throw new InvalidOperationException("Cachify's Redis backend is already configured. Call CachifyRedis.Reset() before configuring it again.");
            }

            var backend = new RedisCacheBackend(connection, options);
            Volatile.Write(ref _backend, backend);
            return backend;
        }
    }

    /// <summary>
    /// Forgets and disposes the backend created by <see cref="Configure"/>, so <see cref="Configure"/> may run again.
    /// Wrappers follow: at their next call, <c>UseRedis()</c> wrappers bind to the backend configured then (the next
    /// <see cref="Configure"/>, or a started host's), and throw <see cref="InvalidOperationException"/> while there is none.
    /// Backends registered by <c>AddCachifyRedis</c> are left alone: their host disposes them.
    /// </summary>
    public static void Reset()
    {
        RedisCacheBackend? previous;
        lock (Sync)
        {
            previous = _backend;
            Volatile.Write(ref _backend, null);
        }

        previous?.Dispose();
    }

    /// <summary>Makes a backend created by <c>AddCachifyRedis</c> the one <c>UseRedis()</c> picks while <see cref="Configure"/> has not run.</summary>
    internal static void Register(RedisCacheBackend backend)
    {
        lock (Sync)
        {
            if (backend.IsDisposed)
            {
                return;
            }

            Registered.Remove(backend);
            Registered.Add(backend);
            Volatile.Write(ref _registered, backend);
        }
    }

    /// <summary>Forgets a disposed registered backend; the previous host's backend, if still alive, is picked again.</summary>
    internal static void Unregister(RedisCacheBackend backend)
    {
        lock (Sync)
        {
            if (Registered.Remove(backend))
            {
                Volatile.Write(ref _registered, Registered.Count == 0 ? null : Registered[^1]);
            }
        }
    }
}
