using System.Diagnostics;

namespace CachifyNet.Redis.Tests;

/// <summary>Waits on conditions with a deadline (never a fixed sleep).</summary>
internal static class Wait
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>Checks <paramref name="condition"/> until it holds, backing off between checks; fails after <paramref name="deadline"/>.</summary>
    public static void Until(Func<bool> condition, string what, TimeSpan? deadline = null)
    {
        var limit = deadline ?? Deadline;
        var watch = Stopwatch.StartNew();
        var spinner = default(SpinWait);
        while (!condition())
        {
            if (watch.Elapsed > limit)
            {
                throw new TimeoutException($"Timed out after {limit} waiting until {what}.");
            }

            spinner.SpinOnce();
        }
    }
}
