using System.Text;
using CachifyNet.Stores;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// A backplane subscriber that records what it gets, in order: <c>"lost"</c>, <c>"restored"</c> and each notice as its
/// UTF-8 text. Tests await conditions on the record (<see cref="WhenAsync"/>) rather than sleep. It also notes calls that
/// overlap, which a backplane must never make.
/// </summary>
internal sealed class RecordingSubscriber : ICacheBackplaneSubscriber
{
    public const string Lost = "lost";
    public const string Restored = "restored";

    private readonly object _gate = new();
    private readonly List<string> _events = [];
    private readonly List<(Func<List<string>, bool> Condition, TaskCompletionSource Done)> _waits = [];
    private int _inside;
    private int _overlaps;

    /// <summary>Throws from every call after recording it (a subscriber that fails).</summary>
    public bool Throws { get; init; }

    /// <summary>Calls that began while another was running.</summary>
    public int Overlaps => Volatile.Read(ref _overlaps);

    public List<string> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>The notices only, without the connection changes.</summary>
    public List<string> Notices => [.. Events.Where(e => e is not Lost and not Restored)];

    public void OnNotice(ReadOnlySpan<byte> notice) => Record(Encoding.UTF8.GetString(notice));

    public void OnConnectionLost() => Record(Lost);

    public void OnConnectionRestored() => Record(Restored);

    /// <summary>Completes once <paramref name="condition"/> holds for the record.</summary>
    public Task WhenAsync(Func<List<string>, bool> condition)
    {
        lock (_gate)
        {
            if (condition(_events))
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waits.Add((condition, done));
            return done.Task;
        }
    }

    /// <summary>
    /// Completes once notices flow as far as this subscriber knows: it was told nothing (it subscribed to a backplane that
    /// worked), or each loss it was told of was followed by a restore.
    /// </summary>
    public Task WhenFlowingAsync() => WhenAsync(static events => Count(events, Lost) == Count(events, Restored));

    /// <summary>Completes once the subscriber was told of more than <paramref name="lossesBefore"/> losses, and of the restore after each.</summary>
    public Task WhenRestoredAfterAsync(int lossesBefore)
        => WhenAsync(events => Count(events, Lost) > lossesBefore && Count(events, Lost) == Count(events, Restored));

    /// <summary>The losses told so far.</summary>
    public int Losses => Count(Events, Lost);

    /// <summary>
    /// Asserts what the backplane promises every subscriber about the connection: losses and restores alternate, a loss
    /// first, and calls never overlapped. (A loaded machine may add a loss and its restore anywhere: a heartbeat late by a second.)
    /// </summary>
    public void AssertWellFormed()
    {
        var expected = Lost;
        foreach (var e in Events.Where(e => e is Lost or Restored))
        {
            Assert.True(e == expected, $"The connection changes must alternate, a loss first: {string.Join(", ", Events.Where(e => e is Lost or Restored))}");
            expected = expected == Lost ? Restored : Lost;
        }

        Assert.Equal(0, Overlaps);
    }

    private static int Count(List<string> events, string what) => events.Count(e => e == what);

    private void Record(string what)
    {
        if (Interlocked.Increment(ref _inside) != 1)
        {
            Interlocked.Increment(ref _overlaps);
        }

        try
        {
            lock (_gate)
            {
                _events.Add(what);
                for (var i = _waits.Count - 1; i >= 0; i--)
                {
                    if (_waits[i].Condition(_events))
                    {
                        _waits[i].Done.TrySetResult();
                        _waits.RemoveAt(i);
                    }
                }
            }

            if (Throws)
            {
                throw new InvalidOperationException("This subscriber fails on purpose.");
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inside);
        }
    }
}
