namespace CachifyNet.Stores;

/// <summary>What a <see cref="CacheStoreBackend"/> does when its store fails.</summary>
public enum CacheStoreErrorMode
{
    /// <summary>
    /// The call goes on without the cache: a failed read is a miss, a failed write leaves the result uncached. Failures
    /// are counted (<c>cachify.backend.errors</c>) and logged, one detailed line per outage. The default.
    /// </summary>
    Silent,

    /// <summary>The call throws a <see cref="CachifyException"/> with the store's exception inside.</summary>
    Throw,
}
