using CachifyNet.Internal;

namespace CachifyNet;

/// <summary>
/// Where cached entries live. Pass one to <c>Backend(...)</c> on a cached function, or set
/// <see cref="Cachify.DefaultBackend"/>.
/// </summary>
/// <remarks>
/// Cachify ships two backends: <see cref="MemoryCacheBackend"/> (in-process, the default) and
/// <c>RedisCacheBackend</c> in the Cachify.Redis package (shared by many processes). The members a
/// backend implements are internal in this version: the single-flight, never-die and invalidation
/// machinery is shared with the backend, and that contract is not yet frozen for third parties.
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
