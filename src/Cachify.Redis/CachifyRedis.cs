using StackExchange.Redis;

namespace CachifyNet.Redis;

/// <summary>
/// One-call global setup of Redis, the counterpart of Python cachify's <c>setup_redis_config</c>: after
/// <see cref="Configure"/>, <c>UseRedis()</c> on any cached function keeps its entries in that backend.
/// </summary>
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

    /// <summary>Gets a value indicating whether <see cref="Configure"/> has run (and <see cref="Reset"/> has not since).</summary>
    public static bool IsConfigured => Volatile.Read(ref _backend) is not null;

    /// <summary>Gets the backend created by <see cref="Configure"/>.</summary>
    /// <exception cref="InvalidOperationException"><see cref="Configure"/> has not run.</exception>
    public static RedisCacheBackend Backend => Volatile.Read(ref _backend) ?? throw new InvalidOperationException(
        "Cachify's Redis backend is not configured. Call CachifyRedis.Configure(connection, options) at startup, before the first call of a function that uses UseRedis().");

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
    /// Wrappers bind to the backend at their first call and keep it: those already called throw
    /// <see cref="ObjectDisposedException"/> afterwards; wrappers first called after the next <see cref="Configure"/> use the new backend.
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
}
