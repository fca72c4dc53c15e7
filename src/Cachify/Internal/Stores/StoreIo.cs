using CachifyNet.Stores;

namespace CachifyNet.Internal.Stores;

/// <summary>
/// The store's calls in one form, so that the owner's algorithm is written once (<see cref="StoreKeyspace{TKey, TValue}"/>):
/// <see cref="SyncIo"/> calls the synchronous members and returns completed tasks, <see cref="AsyncIo"/> the asynchronous
/// ones. (The shape of System.Net.Security's ReadWriteAdapter.)
/// </summary>
internal interface IStoreIo
{
    static abstract bool IsAsync { get; }

    static abstract ValueTask<byte[]?> Get(CacheStore store, string key, CancellationToken token);

    static abstract ValueTask Set(CacheStore store, string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken token);

    static abstract ValueTask Remove(CacheStore store, string key, CancellationToken token);

    static abstract ValueTask RemoveByPrefix(CacheStore store, string keyPrefix, CancellationToken token);

    static abstract ValueTask<bool> TryAcquire(CacheStoreLock storeLock, string key, string owner, TimeSpan lease);

    static abstract ValueTask<bool> Commit(CacheStoreLock storeLock, string key, string owner, ReadOnlyMemory<byte> value, TimeSpan timeToLive);

    static abstract ValueTask Release(CacheStoreLock storeLock, string key, string owner);

    /// <summary>Waits for another process's notice or the end of <paramref name="delay"/>.</summary>
    static abstract ValueTask Wait(LockWait wait, TimeSpan delay, CancellationToken token);
}

internal readonly struct SyncIo : IStoreIo
{
    /// <summary>The result of an algorithm run with <see cref="SyncIo"/>: complete by construction (every call it makes is synchronous).</summary>
    public static T Result<T>(ValueTask<T> task)
        => task.IsCompleted ? task.Result : throw new InvalidOperationException("A synchronous store call did not complete synchronously.");

    /// <summary>Completes an algorithm run with <see cref="SyncIo"/> that returns nothing (rethrowing its exception).</summary>
    public static void Complete(ValueTask task)
    {
        if (!task.IsCompleted)
        {
            throw new InvalidOperationException("A synchronous store call did not complete synchronously.");
        }

        task.GetAwaiter().GetResult();
    }

    public static bool IsAsync => false;

    public static ValueTask<byte[]?> Get(CacheStore store, string key, CancellationToken token) => new(store.Read(key));

    public static ValueTask Set(CacheStore store, string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken token)
    {
        store.Write(key, value, timeToLive);
        return ValueTask.CompletedTask;
    }

    public static ValueTask Remove(CacheStore store, string key, CancellationToken token)
    {
        store.Remove(key);
        return ValueTask.CompletedTask;
    }

    public static ValueTask RemoveByPrefix(CacheStore store, string keyPrefix, CancellationToken token)
    {
        store.RemoveByPrefix(keyPrefix);
        return ValueTask.CompletedTask;
    }

    public static ValueTask<bool> TryAcquire(CacheStoreLock storeLock, string key, string owner, TimeSpan lease) => new(storeLock.TryAcquire(key, owner, lease));

    public static ValueTask<bool> Commit(CacheStoreLock storeLock, string key, string owner, ReadOnlyMemory<byte> value, TimeSpan timeToLive)
        => new(storeLock.Commit(key, owner, value, timeToLive));

    public static ValueTask Release(CacheStoreLock storeLock, string key, string owner)
    {
        storeLock.Release(key, owner);
        return ValueTask.CompletedTask;
    }

    public static ValueTask Wait(LockWait wait, TimeSpan delay, CancellationToken token)
    {
        wait.Wait(delay, token);
        return ValueTask.CompletedTask;
    }
}

internal readonly struct AsyncIo : IStoreIo
{
    public static bool IsAsync => true;

    public static ValueTask<byte[]?> Get(CacheStore store, string key, CancellationToken token) => store.ReadAsync(key, token);

    public static ValueTask Set(CacheStore store, string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken token)
        => store.WriteAsync(key, value, timeToLive, token);

    public static ValueTask Remove(CacheStore store, string key, CancellationToken token) => store.RemoveAsync(key, token);

    public static ValueTask RemoveByPrefix(CacheStore store, string keyPrefix, CancellationToken token) => store.RemoveByPrefixAsync(keyPrefix, token);

    public static ValueTask<bool> TryAcquire(CacheStoreLock storeLock, string key, string owner, TimeSpan lease)
        => storeLock.TryAcquireAsync(key, owner, lease, CancellationToken.None);

    public static ValueTask<bool> Commit(CacheStoreLock storeLock, string key, string owner, ReadOnlyMemory<byte> value, TimeSpan timeToLive)
        => storeLock.CommitAsync(key, owner, value, timeToLive, CancellationToken.None);

    public static ValueTask Release(CacheStoreLock storeLock, string key, string owner) => storeLock.ReleaseAsync(key, owner, CancellationToken.None);

    public static ValueTask Wait(LockWait wait, TimeSpan delay, CancellationToken token) => new(wait.WaitAsync(delay, token));
}
