using CachifyNet.Internal.Stores;
using CachifyNet.Redis.Internal;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// How a caller waiting for another process's lock paces its checks (no Redis needed): a doubling back-off from
/// 10 ms up to the backend's poll limit, never past the moment the lock expires, never past the wait's deadline.
/// The multi-process takeover test relies on the cap at the lock's expiry.
/// </summary>
public class LockWaitTests
{
    private const long NoExpiry = -1; // PTTL of a key without expiry (-2: no key); neither caps the delay

    [Fact]
    public void NextDelay_LockFarFromExpiry_DoublesFromTenMillisecondsUpToTheMaxPoll()
    {
        using var wait = new WaiterRegistry().Add("k", maxPoll: TimeSpan.FromMilliseconds(250), timeout: TimeSpan.FromHours(1));

        var delays = Enumerable.Range(0, 7).Select(_ => wait.NextDelay(lockRemainingMs: 60_000).TotalMilliseconds).ToList();

        Assert.Equal([10, 20, 40, 80, 160, 250, 250], delays);
        Assert.Equal(250, wait.NextDelay(NoExpiry).TotalMilliseconds);
    }

    [Fact]
    public void NextDelay_LockExpiresBeforeTheNextPoll_WakesOneMillisecondAfterTheExpiry()
    {
        using var wait = new WaiterRegistry().Add("k", maxPoll: TimeSpan.FromSeconds(1), timeout: TimeSpan.FromHours(1));
        for (var i = 0; i < 8; i++)
        {
            wait.NextDelay(lockRemainingMs: 60_000); // back-off at its limit: the next poll would be 1 s away
        }

        Assert.Equal(301, wait.NextDelay(lockRemainingMs: 300).TotalMilliseconds);
        Assert.Equal(1, wait.NextDelay(lockRemainingMs: 0).TotalMilliseconds);
        Assert.Equal(1000, wait.NextDelay(lockRemainingMs: 5_000).TotalMilliseconds); // the back-off itself is unchanged
    }

    [Fact]
    public void NextDelay_NeverPassesTheWaitsDeadline()
    {
        var timeout = TimeSpan.FromMilliseconds(100);
        using var wait = new WaiterRegistry().Add("k", maxPoll: TimeSpan.FromSeconds(1), timeout: timeout);
        for (var i = 0; i < 8; i++)
        {
            Assert.InRange(wait.NextDelay(NoExpiry), TimeSpan.Zero, timeout);
        }

        Assert.False(wait.TryTake()); // nothing signalled it
        wait.Signal();
        Assert.True(wait.TryTake());
    }
}
