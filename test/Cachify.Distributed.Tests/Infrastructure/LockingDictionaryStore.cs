using System.Collections.Concurrent;
using CachifyNet.Stores;

namespace CachifyNet.Distributed.Tests;

/// <summary>
/// A store with a lock across its clients (<see cref="CacheStore.Lock"/>): entries and locks in memory shared by every
/// client, as processes share a store. Commit and Remove take the lock table's monitor, so a commit is atomic with the
/// owner check and a removal of the lock. Leases run in real time (stores expire locks in real time).
/// </summary>
public sealed class LockingDictionaryStore(LockingDictionaryStore.Shared shared) : CacheStore
{
    private readonly DictionaryStore _values = new(shared.Values, TimeProvider.System);
    private readonly KeyLock _lock = new(shared);

    public override CacheStoreLock Lock => _lock;

    public override byte[]? Read(string key) => _values.Read(key);

    public override ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken) => _values.ReadAsync(key, cancellationToken);

    public override void Write(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive) => _values.Write(key, value, timeToLive);

    public override ValueTask WriteAsync(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken cancellationToken)
        => _values.WriteAsync(key, value, timeToLive, cancellationToken);

    public override void Remove(string key)
    {
        lock (shared.Locks)
        {
            _values.Remove(key);
            shared.Locks.Remove(key);
        }
    }

    public override ValueTask RemoveAsync(string key, CancellationToken cancellationToken)
    {
        Remove(key);
        return ValueTask.CompletedTask;
    }

    /// <summary>Removes the values under <paramref name="keyPrefix"/> (a store that can enumerate its keys); fails while <see cref="Shared.FailRemoveByPrefix"/> is set.</summary>
    public override void RemoveByPrefix(string keyPrefix)
    {
        if (shared.FailRemoveByPrefix)
        {
            throw new IOException("The enumeration failed (test).");
        }

        foreach (var key in shared.Values.Keys)
        {
            if (key.StartsWith(keyPrefix, StringComparison.Ordinal))
            {
                shared.Values.TryRemove(key, out _);
            }
        }
    }

    public override ValueTask RemoveByPrefixAsync(string keyPrefix, CancellationToken cancellationToken)
    {
        RemoveByPrefix(keyPrefix);
        return ValueTask.CompletedTask;
    }

    /// <summary>What the clients of one store share.</summary>
    public sealed class Shared
    {
        public ConcurrentDictionary<string, (byte[] Value, DateTimeOffset Expires)> Values { get; } = new();

        /// <summary>Lock owner and expiry by key (guarded by itself).</summary>
        public Dictionary<string, (string Owner, DateTimeOffset Expires)> Locks { get; } = new();

        /// <summary>Locks taken so far.</summary>
        public int Acquired;

        /// <summary>Renewals that extended a lock so far.</summary>
        public int Renewed;

        /// <summary>Makes <see cref="RemoveByPrefix"/> throw.</summary>
        public volatile bool FailRemoveByPrefix;
    }

    private sealed class KeyLock(Shared shared) : CacheStoreLock
    {
        private readonly DictionaryStore _values = new(shared.Values, TimeProvider.System);

        private static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

        public override bool TryAcquire(string key, string owner, TimeSpan lease)
        {
            lock (shared.Locks)
            {
                if (shared.Locks.TryGetValue(key, out var held) && held.Expires > Now)
                {
                    return false;
                }

                shared.Locks[key] = (owner, Now + lease);
                shared.Acquired++;
                return true;
            }
        }

        public override ValueTask<bool> TryAcquireAsync(string key, string owner, TimeSpan lease, CancellationToken cancellationToken)
            => new(TryAcquire(key, owner, lease));

        public override ValueTask<bool> RenewAsync(string key, string owner, TimeSpan lease, CancellationToken cancellationToken)
        {
            lock (shared.Locks)
            {
                if (!Holds(key, owner))
                {
                    return new(false);
                }

                shared.Locks[key] = (owner, Now + lease);
                shared.Renewed++;
                return new(true);
            }
        }

        public override bool Commit(string key, string owner, ReadOnlyMemory<byte> value, TimeSpan timeToLive)
        {
            lock (shared.Locks)
            {
                if (!Holds(key, owner))
                {
                    return false;
                }

                _values.Write(key, value, timeToLive);
                shared.Locks.Remove(key);
                return true;
            }
        }

        public override ValueTask<bool> CommitAsync(string key, string owner, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken cancellationToken)
            => new(Commit(key, owner, value, timeToLive));

        public override void Release(string key, string owner)
        {
            lock (shared.Locks)
            {
                if (Holds(key, owner))
                {
                    shared.Locks.Remove(key);
                }
            }
        }

        public override ValueTask ReleaseAsync(string key, string owner, CancellationToken cancellationToken)
        {
            Release(key, owner);
            return ValueTask.CompletedTask;
        }

        private bool Holds(string key, string owner) => shared.Locks.TryGetValue(key, out var held) && held.Owner == owner && held.Expires > Now;
    }
}
