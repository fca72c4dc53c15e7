namespace CachifyNet.Stores;

/// <summary>
/// Carries change notices between the processes that share a distributed store, so that each can drop the local copies
/// (<see cref="LocalCacheOptions"/>) another process's write, Invalidate or Clear made stale. Cachify.Redis has one over
/// Redis pub/sub (<c>RedisBackplane</c>); derive from this class to carry notices over anything else.
/// </summary>
/// <remarks>
/// <para>
/// A backplane only carries bytes: the backend writes the notices, ignores its own when they come back, and decides what
/// to drop. A backplane must deliver each subscriber the notices of every publisher in the order they were published,
/// and must tell subscribers as soon as it may have lost one: <see cref="ICacheBackplaneSubscriber.OnConnectionLost"/>
/// within about a second of losing its connection (a backplane whose transport can fail silently should check itself,
/// for instance by receiving its own heartbeat), then <see cref="ICacheBackplaneSubscriber.OnConnectionRestored"/> once
/// notices flow again. Between the two, backends stop trusting their local copies, so a lost notice never means a stale
/// value.
/// </para>
/// <para>Members are called concurrently and must be thread-safe. Publishing throws when the notice cannot be sent.</para>
/// </remarks>
public abstract class CacheBackplane
{
    /// <summary>Sends <paramref name="notice"/> to every subscriber (the publisher's own may get it back).</summary>
    /// <param name="notice">The notice; the backplane copies it if it needs it after returning.</param>
    public abstract void Publish(ReadOnlyMemory<byte> notice);

    /// <inheritdoc cref="Publish"/>
    /// <param name="notice">The notice; the backplane copies it if it needs it after the task completes.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    public abstract ValueTask PublishAsync(ReadOnlyMemory<byte> notice, CancellationToken cancellationToken);

    /// <summary>Starts delivering notices and connection changes to <paramref name="subscriber"/>.</summary>
    /// <param name="subscriber">Receives the notices, on any thread; it must return quickly.</param>
    /// <returns>Stops the delivery when disposed.</returns>
    public abstract IDisposable Subscribe(ICacheBackplaneSubscriber subscriber);
}
