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
