namespace CachifyNet.Stores;

/// <summary>
/// Where a <see cref="CacheStoreBackend"/> keeps its entries: bytes under string keys, each with a time to live. Derive
/// from it to put Cachify on any storage (a database, a cloud cache, a test double); Cachify.Distributed derives one
/// over any <c>IDistributedCache</c>.
/// </summary>
/// <remarks>
/// <para>
/// A store only stores. Everything else is the backend's, the same for every store: keys (function identity plus
/// arguments, prefixed), the entry's format (its TTL, never-die flag, result type and the time it was written travel
/// with the bytes), serialization, single flight within the process, skip-cache, timeouts, never-die refreshes,
/// Invalidate and Clear (a generation marker: one more key per function), error handling (<see cref="CacheStoreErrorMode"/>)
/// and telemetry. An entry is never served past its TTL, even when the store keeps it longer.
/// </para>
/// <para>
/// A store may also offer a lock per key across processes (<see cref="Lock"/>), so that processes sharing it run a
/// function once per key; see <see cref="CacheStoreLock"/>.
/// </para>
/// <para>
/// Synchronous cached functions call the synchronous members and asynchronous ones the asynchronous members: implement
/// both without blocking on each other where the storage has both forms. Members are called concurrently and must be
/// thread-safe. A member throws when the storage fails; the backend then applies its error mode.
/// </para>
/// </remarks>
public abstract class CacheStore
{
    /// <summary>Reads the bytes stored under <paramref name="key"/>.</summary>
    /// <param name="key">The key, as given to <see cref="Write"/>.</param>
    /// <returns>The bytes, or null when no live entry exists.</returns>
    public abstract byte[]? Read(string key);

    /// <inheritdoc cref="Read"/>
    /// <param name="key">The key, as given to <see cref="WriteAsync"/>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public abstract ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/>, replacing any entry.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The bytes; the store keeps its own copy if it needs one after returning.</param>
    /// <param name="timeToLive">How long the entry lives; <see cref="Timeout.InfiniteTimeSpan"/> when it does not expire.</param>
    public abstract void Write(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive);

    /// <inheritdoc cref="Write"/>
    /// <param name="key">The key.</param>
    /// <param name="value">The bytes; the store keeps its own copy if it needs one after the task completes.</param>
    /// <param name="timeToLive">How long the entry lives; <see cref="Timeout.InfiniteTimeSpan"/> when it does not expire.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public abstract ValueTask WriteAsync(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>Removes the entry under <paramref name="key"/>, if any.</summary>
    /// <param name="key">The key.</param>
    public abstract void Remove(string key);

    /// <inheritdoc cref="Remove"/>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    public abstract ValueTask RemoveAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Removes every entry whose key starts with <paramref name="keyPrefix"/>, where the store can enumerate its keys.
    /// Clear calls it after it has made every older entry of the function unreadable (see <see cref="CacheStoreBackend"/>),
    /// so it only frees their space sooner; the default does nothing, and they expire by their TTL.
    /// </summary>
    /// <param name="keyPrefix">The start of the keys to remove (the value keys of one function).</param>
    public virtual void RemoveByPrefix(string keyPrefix)
    {
    }

    /// <inheritdoc cref="RemoveByPrefix"/>
    /// <param name="keyPrefix">The start of the keys to remove (the value keys of one function).</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    public virtual ValueTask RemoveByPrefixAsync(string keyPrefix, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Gets the kind of store: the <c>backend</c> tag of Cachify's metrics and traces for functions on it (for example <c>"redis"</c>).</summary>
    /// <value>The default is <c>"store"</c>.</value>
    public virtual string Kind => "store";

    /// <summary>
    /// Gets the store's lock per key across processes, or null when it has none (the default): then processes do not
    /// coordinate, and each runs the function on its own miss. A store with a lock removes the key's lock in
    /// <see cref="Remove"/> and <see cref="RemoveAsync"/> too.
    /// </summary>
    public virtual CacheStoreLock? Lock => null;
}
