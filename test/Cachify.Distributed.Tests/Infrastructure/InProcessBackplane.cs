using System.Collections.Immutable;
using CachifyNet.Stores;

namespace CachifyNet.Distributed.Tests;

/// <summary>
/// A backplane between backends of one test (standing for processes): notices are delivered at once, on the publisher's
/// thread, to every subscriber, in order. <see cref="Lose"/> and <see cref="Restore"/> play a lost and regained connection:
/// notices published in between are lost.
/// </summary>
internal sealed class InProcessBackplane : CacheBackplane
{
    private ImmutableArray<ICacheBackplaneSubscriber> _subscribers = [];
    private volatile bool _lost;

    /// <summary>Subscribers now.</summary>
    public int Subscribers => _subscribers.Length;

    /// <summary>Notices published (delivered or lost).</summary>
    public int Published;

    public override void Publish(ReadOnlyMemory<byte> notice)
    {
        Interlocked.Increment(ref Published);
        if (_lost)
        {
            return;
        }

        foreach (var subscriber in _subscribers)
        {
            subscriber.OnNotice(notice.Span);
        }
    }

    public override ValueTask PublishAsync(ReadOnlyMemory<byte> notice, CancellationToken cancellationToken)
    {
        Publish(notice);
        return ValueTask.CompletedTask;
    }

    public override IDisposable Subscribe(ICacheBackplaneSubscriber subscriber)
    {
        ImmutableInterlocked.Update(ref _subscribers, static (list, s) => list.Add(s), subscriber);
        return new Subscription(this, subscriber);
    }

    /// <summary>The connection is lost: subscribers are told, and notices are lost until <see cref="Restore"/>.</summary>
    public void Lose()
    {
        _lost = true;
        foreach (var subscriber in _subscribers)
        {
            subscriber.OnConnectionLost();
        }
    }

    /// <summary>The connection is back: notices flow again.</summary>
    public void Restore()
    {
        _lost = false;
        foreach (var subscriber in _subscribers)
        {
            subscriber.OnConnectionRestored();
        }
    }

    private sealed class Subscription(InProcessBackplane backplane, ICacheBackplaneSubscriber subscriber) : IDisposable
    {
        public void Dispose() => ImmutableInterlocked.Update(ref backplane._subscribers, static (list, s) => list.Remove(s), subscriber);
    }
}
