namespace CachifyNet.Conformance;

/// <summary>
/// A function body that numbers its executions (1, 2, ...) and returns the number; the execution numbered
/// <c>stopAt</c> stops at a gate until the test calls <see cref="Release"/>, so a test can act while it runs.
/// </summary>
public sealed class GatedRuns(int stopAt = 1)
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _runs;

    /// <summary>How many executions have started.</summary>
    public int Runs => Volatile.Read(ref _runs);

    /// <summary>Completes when the stopping execution has reached its gate.</summary>
    public Task Entered => _entered.Task;

    /// <summary>Lets the stopping execution go on.</summary>
    public void Release() => _release.TrySetResult();

    /// <summary>The body: pass it to <c>WrapAwaiting</c>.</summary>
    public async Task<int> Body(int x)
    {
        var n = Interlocked.Increment(ref _runs);
        if (n == stopAt)
        {
            _entered.TrySetResult();
            await _release.Task;
        }

        return n;
    }
}
