using CachifyNet.Internal;

namespace CachifyNet;

/// <summary>
/// Where cached entries live. Pass one to <c>Backend(...)</c> on a cached function, or set
/// <see cref="Cachify.DefaultBackend"/>.
/// </summary>
/// <remarks>
/// Cachify ships <see cref="MemoryCacheBackend"/> (in-process, the default), <c>RedisCacheBackend</c> in the
/// Cachify.Redis package (shared by many processes, with a lock per key across them) and
/// <see cref="Stores.CacheStoreBackend"/>, over any <see cref="Stores.CacheStore"/>: Cachify.Distributed's store over
/// any <c>IDistributedCache</c>, or one of your own. The members of this interface are internal: to put cached
/// functions on other storage, derive from <see cref="Stores.CacheStore"/>.
/// </remarks>
public interface ICacheBackend
{
    /// <summary>The backend's clock, scheduler, logger and keyspaces.</summary>
    internal BackendServices Services { get; }

    /// <summary>
    /// The keyspace of a wrapper: created on first use, shared by wrappers with the same identity and key shape
    /// (and, in memory, the same target). Throws when the backend cannot key the function as configured.
    /// </summary>
    internal Keyspace<TKey, TValue> GetKeyspace<TKey, TValue>(WrapperConfig config)
        where TKey : struct, IArgsKey<TKey>;
}
