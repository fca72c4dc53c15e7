using System.Diagnostics;

namespace CachifyNet.Testing;

/// <summary>
/// Waits for things that may hang (a signal, a thread, a task), each with a deadline whose expiry fails the test
/// with an assertion naming what it waited for. The run's hang guard (test.runsettings) is only the backstop.
/// Linked into every test project.
/// </summary>
internal static class Bounded
{
    /// <summary>Far longer than anything a passing test waits for, even on a loaded 2-core CI machine.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>Blocks until <paramref name="signal"/> is set; fails after <see cref="Deadline"/>.</summary>
    public static void Wait(ManualResetEventSlim signal, string what)
        => Assert.True(signal.Wait(Deadline), TimedOut(what));

    /// <summary>Blocks until <paramref name="thread"/> ends; fails after <see cref="Deadline"/>.</summary>
    public static void Join(Thread thread, string what)
        => Assert.True(thread.Join(Deadline), TimedOut(what));

    /// <summary>Blocks until every thread ends; fails after <paramref name="deadline"/> (<see cref="Deadline"/> by default) in all.</summary>
    public static void JoinAll(IEnumerable<Thread> threads, string what, TimeSpan? deadline = null)
    {
        var limit = deadline ?? Deadline;
        var watch = Stopwatch.StartNew();
        foreach (var thread in threads)
        {
            var left = limit - watch.Elapsed;
            Assert.True(thread.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero), TimedOut(what, limit));
        }
    }

    /// <summary>
    /// Checks <paramref name="condition"/> until it holds, spinning then yielding between checks (never a fixed sleep); fails after
    /// <paramref name="deadline"/> (<see cref="Deadline"/> by default). For conditions other threads or background work make true.
    /// </summary>
    public static void Until(Func<bool> condition, string what, TimeSpan? deadline = null)
    {
        var limit = deadline ?? Deadline;
        var watch = Stopwatch.StartNew();
        var spinner = default(SpinWait);
        while (!condition())
        {
            Assert.True(watch.Elapsed <= limit, TimedOut(what, limit));
            spinner.SpinOnce();
        }
    }

    /// <summary>Awaits <paramref name="condition"/> until it holds, yielding between checks; fails after <see cref="Deadline"/>.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(watch.Elapsed <= Deadline, TimedOut(what));
            await Task.Yield();
        }
    }

    /// <summary>Blocks until <paramref name="task"/> ends and returns its result (or throws its exception); fails after <see cref="Deadline"/>.</summary>
    public static T Result<T>(Task<T> task, string what)
    {
        Assert.True(Task.WhenAny(task).Wait(Deadline), TimedOut(what));
        return task.GetAwaiter().GetResult();
    }

    /// <summary>Awaits <paramref name="task"/> (its exception included); fails after <see cref="Deadline"/>.</summary>
    /// <remarks>The deadline fails an assertion, never a <see cref="TimeoutException"/>, so <c>Assert.ThrowsAsync&lt;TimeoutException&gt;(() => task.Within(...))</c> tells them apart.</remarks>
    public static async Task Within(this Task task, string what)
    {
        await Ended(task, what);
        await task;
    }

    /// <inheritdoc cref="Within(Task, string)"/>
    public static async Task<T> Within<T>(this Task<T> task, string what)
    {
        await Ended(task, what);
        return await task;
    }

    private static async Task Ended(Task task, string what)
    {
        if (task.IsCompleted)
        {
            return;
        }

        using var deadline = new CancellationTokenSource();
        var first = await Task.WhenAny(task, Task.Delay(Deadline, deadline.Token));
        await deadline.CancelAsync();
        Assert.True(ReferenceEquals(first, task), TimedOut(what));
    }

    private static string TimedOut(string what) => TimedOut(what, Deadline);

    private static string TimedOut(string what, TimeSpan deadline) => $"Timed out after {deadline.TotalSeconds:0.###} s waiting until {what}.";
}
