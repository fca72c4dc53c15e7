namespace CachifyNet.Stores;

/// <summary>
/// A store's lock per key across processes, so that concurrent callers in every process that shares the store run a
/// function once per key, and a never-die entry is refreshed by one process per period. Offered by a store through
/// <see cref="CacheStore.Lock"/>; without one, processes do not coordinate (each runs the function on its own miss).
/// </summary>
/// <remarks>
/// <para>
/// The backend drives it: on a miss it tries to take the lock of the entry's key with a random <c>owner</c> token. The
/// owner reads the store once more (another process may just have stored the value), runs the function while renewing
/// the lock every third of its lease, and stores the result with <see cref="Commit"/>, which writes only while the
/// token still holds the lock and releases it in the same step. A caller that finds the lock taken waits (woken by the
/// backplane's notice of the key when there is one, else by polling with back-off), then reads the store and tries
/// again; after <see cref="CacheStoreBackendOptions.LockWaitTimeout"/> it runs the function itself without storing
/// (<see cref="CacheStoreErrorMode.Silent"/>) or throws (<see cref="CacheStoreErrorMode.Throw"/>).
/// </para>
/// <para>
/// A lock whose owner died expires after its lease, and a waiting process takes over then, never earlier. The store's
/// <see cref="CacheStore.Remove"/> must also remove the key's lock (whoever holds it), so that an execution running
/// elsewhere when the entry is invalidated does not store a result computed before.
/// </para>
/// <para>
/// Keys are the keys of the store's values; the lock keeps its own state apart from them. Synchronous cached functions
/// call the synchronous members and asynchronous ones the asynchronous members; renewals run in the background.
/// Members are called concurrently and must be thread-safe; a member throws when the storage fails.
/// </para>
/// </remarks>
public abstract class CacheStoreLock
{
    /// <summary>Takes the lock of <paramref name="key"/> for <paramref name="owner"/> if nobody holds it.</summary>
    /// <param name="key">The key of the entry, as given to <see cref="CacheStore.Write"/>.</param>
    /// <param name="owner">A token that identifies this holder (random, unique per attempt).</param>
    /// <param name="lease">How long the lock lives unless renewed.</param>
    /// <returns>True if the lock is now held by <paramref name="owner"/>; false if another owner holds it.</returns>
    public abstract bool TryAcquire(string key, string owner, TimeSpan lease);

    /// <inheritdoc cref="TryAcquire"/>
    /// <param name="key">The key of the entry, as given to <see cref="CacheStore.WriteAsync"/>.</param>
    /// <param name="owner">A token that identifies this holder (random, unique per attempt).</param>
    /// <param name="lease">How long the lock lives unless renewed.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    public abstract ValueTask<bool> TryAcquireAsync(string key, string owner, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Extends the lock of <paramref name="key"/> to <paramref name="lease"/> from now, if <paramref name="owner"/> still holds it.</summary>
    /// <param name="key">The key of the entry.</param>
    /// <param name="owner">The token the lock was taken with.</param>
    /// <param name="lease">The new remaining lifetime.</param>
    /// <param name="cancellationToken">Cancels the renewal.</param>
    /// <returns>True if renewed; false if the lock is no longer <paramref name="owner"/>'s (expired, removed or taken by another).</returns>
    public abstract ValueTask<bool> RenewAsync(string key, string owner, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="value"/> under <paramref name="key"/> and releases the lock, in one step and only if
    /// <paramref name="owner"/> still holds the lock; otherwise changes nothing.
    /// </summary>
    /// <param name="key">The key of the entry.</param>
    /// <param name="owner">The token the lock was taken with.</param>
    /// <param name="value">The bytes, as for <see cref="CacheStore.Write"/>.</param>
    /// <param name="timeToLive">How long the entry lives; <see cref="Timeout.InfiniteTimeSpan"/> when it does not expire.</param>
    /// <returns>True if stored; false if the lock was no longer <paramref name="owner"/>'s.</returns>
    public abstract bool Commit(string key, string owner, ReadOnlyMemory<byte> value, TimeSpan timeToLive);

    /// <inheritdoc cref="Commit"/>
    /// <param name="key">The key of the entry.</param>
    /// <param name="owner">The token the lock was taken with.</param>
    /// <param name="value">The bytes, as for <see cref="CacheStore.WriteAsync"/>.</param>
    /// <param name="timeToLive">How long the entry lives; <see cref="Timeout.InfiniteTimeSpan"/> when it does not expire.</param>
    /// <param name="cancellationToken">Cancels the commit.</param>
    public abstract ValueTask<bool> CommitAsync(string key, string owner, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>Releases the lock of <paramref name="key"/> if <paramref name="owner"/> still holds it (after a failed or abandoned execution).</summary>
    /// <param name="key">The key of the entry.</param>
    /// <param name="owner">The token the lock was taken with.</param>
    public abstract void Release(string key, string owner);

    /// <inheritdoc cref="Release"/>
    /// <param name="key">The key of the entry.</param>
    /// <param name="owner">The token the lock was taken with.</param>
    /// <param name="cancellationToken">Cancels the release.</param>
    public abstract ValueTask ReleaseAsync(string key, string owner, CancellationToken cancellationToken);
}
