namespace CachifyNet.Internal;

/// <summary>
/// One execution of the function for one key, shared by every caller that asks for the key while it runs.
/// Its task completes with the result or the exception, which every waiter receives.
/// </summary>
/// <remarks>
/// When the function takes a <see cref="CancellationToken"/>, it receives <see cref="Token"/>, which is
/// cancelled only when every participant has given up: one caller cancelling never cancels the work
/// the others wait for (the rule HybridCache follows too). A participant that stops waiting because
/// its own token fired calls <see cref="Leave"/>; one that cannot cancel never leaves.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The source has no timer or wait handle, so it holds nothing to release; disposing it would race with a late Leave.")]
internal sealed class Flight<TValue> : TaskCompletionSource<TValue>
{
    private readonly CancellationTokenSource? _cts;
    private ITimer? _timer;
    private Action? _onTimeout;
    private string? _timeoutMessage;
    private int _participants;
    private bool _abandoned;
    private volatile bool _doomed;

    public Flight(bool sharesCancellation)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        if (sharesCancellation)
        {
            _cts = new CancellationTokenSource();
        }
    }

    /// <summary>The token passed to the function's <see cref="CancellationToken"/> parameters.</summary>
    public CancellationToken Token => _cts?.Token ?? CancellationToken.None;

    /// <summary>True when Invalidate or Clear ran during the execution: its result must not be stored.</summary>
    public bool Doomed => _doomed;

    public void Doom() => _doomed = true;

    /// <summary>
    /// Counts a caller in. Returns false when every earlier participant has given up and the execution is
    /// being cancelled; the caller then waits for it to end and starts a new one.
    /// </summary>
    public bool TryJoin()
    {
        if (_cts is null)
        {
            return true;
        }

        lock (this)
        {
            if (_abandoned)
            {
                return false;
            }

            _participants++;
            return true;
        }
    }

    /// <summary>A participant stopped waiting (its own token fired). The last one out cancels the work.</summary>
    public void Leave()
    {
        if (_cts is null)
        {
            return;
        }

        lock (this)
        {
            if (--_participants > 0 || Task.IsCompleted)
            {
                return;
            }

            _abandoned = true;
        }

        _cts.Cancel();
    }

    /// <summary>
    /// Fails the execution with a <see cref="TimeoutException"/> after <paramref name="timeout"/> unless it ends first:
    /// every waiter gets the exception, the result is not stored, the shared token is cancelled, and
    /// <paramref name="onTimeout"/> detaches the execution so the next caller starts a new one.
    /// </summary>
    public void ArmTimeout(TimeProvider time, TimeSpan timeout, string function, Action onTimeout)
    {
        _onTimeout = onTimeout;
        _timeoutMessage = $"{function} did not complete within its timeout of {timeout}. The execution was abandoned; its result will not be cached.";
        _timer = time.CreateTimer(static state => ((Flight<TValue>)state!).OnTimeout(), this, timeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Stops the timeout timer once the execution has ended.</summary>
    public void DisposeTimer() => _timer?.Dispose();

    private void OnTimeout()
    {
        if (!TrySetException(new TimeoutException(_timeoutMessage)))
        {
            return;
        }

        Doom();
        lock (this)
        {
            _abandoned = true;
        }

        _cts?.Cancel();
        _onTimeout?.Invoke();
        _timer?.Dispose();
    }

    /// <summary>Makes <paramref name="token"/> a participant that leaves when it fires (used for background refreshes).</summary>
    public CancellationTokenRegistration JoinUntil(CancellationToken token)
    {
        if (_cts is null || !TryJoin() || !token.CanBeCanceled)
        {
            return default;
        }

        return token.UnsafeRegister(static state => ((Flight<TValue>)state!).Leave(), this);
    }
}
