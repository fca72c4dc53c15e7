using System.Collections.Concurrent;
using CachifyNet.Distributed;
using CachifyNet.Stores;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using NeoSmart.Caching.Sqlite;

namespace CachifyNet.Distributed.Tests;

/// <summary>
/// A kind of store the suite runs against. <see cref="Connect"/> gives a new client of the same data each time, as
/// another process would have: entries one client writes, the others read.
/// </summary>
public abstract class StoreKind : IDisposable
{
    public abstract string Name { get; }

    /// <summary>Why this store cannot run here (a missing binary, outside CI); null when it can.</summary>
    public virtual string? SkipReason => null;

    public abstract CacheStore Connect();

    /// <summary>Whether the store has a lock across its clients (<see cref="CacheStore.Lock"/>).</summary>
    public virtual bool HasLock => false;

    public virtual void Dispose()
    {
    }

    public override string ToString() => Name;

    /// <summary>The stores every behaviour test runs against, by name (theory data).</summary>
    public static TheoryData<string> All => new() { "dictionary", "redis-cache", "sqlite" };

    public static StoreKind Create(string name) => name switch
    {
        "dictionary" => new DictionaryStoreKind(),
        "locking-dictionary" => new LockingDictionaryStoreKind(),
        "redis-cache" => new RedisCacheKind(),
        "sqlite" => new SqliteKind(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown store kind."),
    };
}

/// <summary>The store of docs/stores.md: a dictionary with expiry, shared by its clients.</summary>
public sealed class DictionaryStoreKind : StoreKind
{
    private readonly ConcurrentDictionary<string, (byte[] Value, DateTimeOffset Expires)> _data = new();

    public override string Name => "dictionary";

    public override CacheStore Connect() => new DictionaryStore(_data, TimeProvider.System);
}

/// <summary>A dictionary store with a lock across its clients: the cross-process lock of the contract, in memory.</summary>
public sealed class LockingDictionaryStoreKind : StoreKind
{
    private readonly LockingDictionaryStore.Shared _shared = new();

    public override string Name => "locking-dictionary";

    public override bool HasLock => true;

    public override CacheStore Connect() => new LockingDictionaryStore(_shared);
}

/// <summary>Microsoft's <c>RedisCache</c> (an <c>IDistributedCache</c>) on a real redis-server started once for the run.</summary>
public sealed class RedisCacheKind : StoreKind
{
    private static readonly Lazy<LocalRedisServer?> Server = new(() =>
    {
        if (!LocalRedisServer.Available)
        {
            return null;
        }

        var server = new LocalRedisServer("cachify-distributed-");
        server.Start();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Dispose();
        return server;
    });

    private readonly List<RedisCache> _clients = [];

    public override string Name => "redis-cache";

    public override string? SkipReason => LocalRedisServer.Available || Required ? null : "redis-server is not installed (apt-get install -y redis-server); with CI set this test fails instead.";

    private static bool Required => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    public override CacheStore Connect()
    {
        var server = Server.Value ?? throw new InvalidOperationException("redis-server is not installed, and CI requires it.");
        var cache = new RedisCache(new RedisCacheOptions { Configuration = server.EndPoint });
        lock (_clients)
        {
            _clients.Add(cache);
        }

        return new DistributedCacheStore(cache);
    }

    public override void Dispose()
    {
        lock (_clients)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }
    }
}

/// <summary>NeoSmart's SQLite <c>IDistributedCache</c> on a database file of its own; each client opens the file anew.</summary>
public sealed class SqliteKind : StoreKind
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "cachify-sqlite-" + Guid.NewGuid().ToString("N") + ".db");
    private readonly List<SqliteCache> _clients = [];

    static SqliteKind() => SQLitePCL.Batteries.Init();

    public override string Name => "sqlite";

    public override CacheStore Connect()
    {
        var cache = new SqliteCache(new SqliteCacheOptions { CachePath = _path });
        lock (_clients)
        {
            _clients.Add(cache);
        }

        return new DistributedCacheStore(cache);
    }

    public override void Dispose()
    {
        lock (_clients)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }

        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" })
        {
            File.Delete(file);
        }
    }
}

/// <summary>A store that fails on demand (every call throws while <see cref="Failing"/> is set), around a real one.</summary>
public sealed class FaultyStore(CacheStore inner) : CacheStore
{
    public volatile bool Failing;

    private FaultyLock? _lock;

    /// <summary>The inner store's lock, failing with the store.</summary>
    public override CacheStoreLock? Lock => inner.Lock is { } innerLock ? _lock ??= new FaultyLock(this, innerLock) : null;

    private void Check()
    {
        if (Failing)
        {
            throw new IOException("The store is down (test).");
        }
    }

    public override byte[]? Read(string key)
    {
        Check();
        return inner.Read(key);
    }

    public override ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken)
    {
        Check();
        return inner.ReadAsync(key, cancellationToken);
    }

    public override void Write(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive)
    {
        Check();
        inner.Write(key, value, timeToLive);
    }

    public override ValueTask WriteAsync(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        Check();
        return inner.WriteAsync(key, value, timeToLive, cancellationToken);
    }

    public override void Remove(string key)
    {
        Check();
        inner.Remove(key);
    }

    public override ValueTask RemoveAsync(string key, CancellationToken cancellationToken)
    {
        Check();
        return inner.RemoveAsync(key, cancellationToken);
    }

    private sealed class FaultyLock(FaultyStore store, CacheStoreLock inner) : CacheStoreLock
    {
        public override bool TryAcquire(string key, string owner, TimeSpan lease)
        {
            store.Check();
            return inner.TryAcquire(key, owner, lease);
        }

        public override ValueTask<bool> TryAcquireAsync(string key, string owner, TimeSpan lease, CancellationToken cancellationToken)
        {
            store.Check();
            return inner.TryAcquireAsync(key, owner, lease, cancellationToken);
        }

        public override ValueTask<bool> RenewAsync(string key, string owner, TimeSpan lease, CancellationToken cancellationToken)
        {
            store.Check();
            return inner.RenewAsync(key, owner, lease, cancellationToken);
        }

        public override bool Commit(string key, string owner, ReadOnlyMemory<byte> value, TimeSpan timeToLive)
        {
            store.Check();
            return inner.Commit(key, owner, value, timeToLive);
        }

        public override ValueTask<bool> CommitAsync(string key, string owner, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken cancellationToken)
        {
            store.Check();
            return inner.CommitAsync(key, owner, value, timeToLive, cancellationToken);
        }

        public override void Release(string key, string owner)
        {
            store.Check();
            inner.Release(key, owner);
        }

        public override ValueTask ReleaseAsync(string key, string owner, CancellationToken cancellationToken)
        {
            store.Check();
            return inner.ReleaseAsync(key, owner, cancellationToken);
        }
    }
}
