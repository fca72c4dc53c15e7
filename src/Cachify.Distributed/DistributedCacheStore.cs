using System.Buffers;
using CachifyNet.Stores;
using Microsoft.Extensions.Caching.Distributed;

namespace CachifyNet.Distributed;

/// <summary>
/// A <see cref="CacheStore"/> over any <see cref="IDistributedCache"/>: Cachify's entries live in the app's distributed
/// cache (SQL Server, PostgreSQL, SQLite, Cosmos DB, NCache, Redis...). Use it through a <see cref="CacheStoreBackend"/>,
/// or register both with <c>services.AddCachifyDistributedCache()</c>.
/// </summary>
/// <remarks>
/// When the cache also implements <see cref="IBufferDistributedCache"/> (as Microsoft's Redis and HybridCache-ready caches
/// do), reads and writes go through its buffer methods, without copying payloads into intermediate arrays where the
/// cache allows. Every entry is written with an absolute expiration relative to now (its TTL; never-die entries 11 × TTL).
/// An <see cref="IDistributedCache"/> has no cross-process lock: processes that miss one key at once each run the
/// function (callers within one process share one execution).
/// </remarks>
/// <example>
/// <code>
/// var backend = new CacheStoreBackend(new DistributedCacheStore(distributedCache), new CacheStoreBackendOptions { KeyPrefix = "myapp" });
/// var getUser = Cachify.Wrap((int id) =&gt; db.GetUserAsync(id)).Named("users.get").Backend(backend);
/// </code>
/// </example>
public sealed class DistributedCacheStore : CacheStore
{
    private readonly IDistributedCache _cache;
    private readonly IBufferDistributedCache? _buffers;

    /// <summary>Creates a store over <paramref name="cache"/>, which it does not dispose.</summary>
    /// <param name="cache">The distributed cache that holds the entries.</param>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> is null.</exception>
    public DistributedCacheStore(IDistributedCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        _cache = cache;
        _buffers = cache as IBufferDistributedCache;
    }

    /// <summary>Gets the distributed cache the store uses.</summary>
    public IDistributedCache Cache => _cache;

    /// <inheritdoc />
    public override byte[]? Read(string key)
    {
        if (_buffers is null)
        {
            return _cache.Get(key);
        }

        var buffer = new ArrayBufferWriter<byte>();
        return _buffers.TryGet(key, buffer) ? buffer.WrittenSpan.ToArray() : null;
    }

    /// <inheritdoc />
    public override async ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken)
    {
        if (_buffers is null)
        {
            return await _cache.GetAsync(key, cancellationToken).ConfigureAwait(false);
        }

        var buffer = new ArrayBufferWriter<byte>();
        return await _buffers.TryGetAsync(key, buffer, cancellationToken).ConfigureAwait(false) ? buffer.WrittenSpan.ToArray() : null;
    }

    /// <inheritdoc />
    public override void Write(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive)
    {
        if (_buffers is null)
        {
            _cache.Set(key, value.ToArray(), Expiration(timeToLive));
            return;
        }

        _buffers.Set(key, new ReadOnlySequence<byte>(value), Expiration(timeToLive));
    }

    /// <inheritdoc />
    public override ValueTask WriteAsync(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        if (_buffers is null)
        {
            return new ValueTask(_cache.SetAsync(key, value.ToArray(), Expiration(timeToLive), cancellationToken));
        }

        return _buffers.SetAsync(key, new ReadOnlySequence<byte>(value), Expiration(timeToLive), cancellationToken);
    }

    /// <inheritdoc />
    public override void Remove(string key) => _cache.Remove(key);

    /// <inheritdoc />
    public override ValueTask RemoveAsync(string key, CancellationToken cancellationToken) => new(_cache.RemoveAsync(key, cancellationToken));

    private static DistributedCacheEntryOptions Expiration(TimeSpan timeToLive)
        => timeToLive == Timeout.InfiniteTimeSpan ? new DistributedCacheEntryOptions() : new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = timeToLive };
}
