// The "Write your own store" example of docs/stores.md (StoresDocTests in test/Cachify.Docs.Tests keeps the class the same).
using System.Collections.Concurrent;
using CachifyNet.Stores;

namespace CachifyNet.Distributed.Tests;

/// <summary>A store over a dictionary shared by its clients, with expiry: the whole contract in one page.</summary>
public sealed class DictionaryStore(ConcurrentDictionary<string, (byte[] Value, DateTimeOffset Expires)> data, TimeProvider time) : CacheStore
{
    public override byte[]? Read(string key)
    {
        if (!data.TryGetValue(key, out var entry))
        {
            return null;
        }

        if (entry.Expires > time.GetUtcNow())
        {
            return entry.Value;
        }

        data.TryRemove(new KeyValuePair<string, (byte[], DateTimeOffset)>(key, entry));
        return null;
    }

    public override ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken) => new(Read(key));

    public override void Write(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive)
    {
        var expires = timeToLive == Timeout.InfiniteTimeSpan ? DateTimeOffset.MaxValue : time.GetUtcNow() + timeToLive;
        data[key] = (value.ToArray(), expires);
    }

    public override ValueTask WriteAsync(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        Write(key, value, timeToLive);
        return ValueTask.CompletedTask;
    }

    public override void Remove(string key) => data.TryRemove(key, out _);

    public override ValueTask RemoveAsync(string key, CancellationToken cancellationToken)
    {
        Remove(key);
        return ValueTask.CompletedTask;
    }
}
