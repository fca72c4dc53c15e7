using Microsoft.Extensions.Logging;

namespace CachifyNet.Internal;

/// <summary>
/// One execution of the function for one key, shared by every caller that asks for the key while it runs.
/// Its task completes with the result or the exception, which every waiter receives. Its owner detaches it
/// from the key (<c>Gate.Finish</c>) before completing it, so a completed flight is never joined.
/// </summary>
/// <remarks>
/// The task is made only when somebody asks for it (a second caller joined, a timeout, a refresh): an owner that
/// runs alone completes the flight without any task, and returns its value (or the function's own task) itself.
/// </remarks>
/// <remarks>
/// When the function takes a <see cref="CancellationToken"/>, it receives <see cref="Token"/>, which is
/// cancelled only when every participant has given up: one caller cancelling never cancels the work
/// the others wait for (the rule HybridCache follows too). The owner is a participant from the start;
/// others join with <see cref="TryJoin"/>. A participant that stops waiting because its own token fired
/// calls <see cref="Leave"/>; one that cannot cancel never leaves. A participant that takes a stale value at
/// its soft timeout calls <see cref="HandOverToStore"/>: it stops waiting, but the execution must go on and
/// store its result (what a soft timeout promises), so from then on the callers never cancel it; only its
/// hard timeout does.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The source has no timer or wait handle, so it holds nothing to release; disposing it would race with a late Leave.")]
internal sealed class Flight<TValue>
{
    private const int Running = 0;
    private const int Failing = 1;
    private const int Succeeded = 2;
    private const int Failed = 3;

    /// <summary>The task waiters see; made at the first request (see <see cref="Task"/>).</summary>
    private TaskCompletionSource<TValue>? _source;
    private TValue _result = default!;
    private Exception? _error;
    private int _state;

    private const int WindowOpen = 0;
    private const int WindowStoring = 1;
    private const int WindowStored = 2;
    private const int WindowClosed = 3;

    /// <summary>The store window (see <see cref="TryBeginStore"/>).</summary>
    private int _window;
    /// <summary>The shared token and its participants; null when the function takes no token (most flights).</summary>
    private readonly Sharing? _sharing;

    /// <summary>The hard timeout; null until <see cref="ArmTimeout"/> (most flights have none).</summary>
    private Timed? _timed;
    private bool _stored;
    private volatile bool _doomed;

    /// <param name="sharesCancellation">Whether the function takes a <see cref="CancellationToken"/> (only then is there a token to share).</param>
    /// <param name="logger">Where an exception thrown by a callback of the shared token is reported.</param>
    public Flight(bool sharesCancellation, ILogger logger)
    {
        if (sharesCancellation)
        {
            _sharing = new Sharing(logger);
        }
    }

    /// <summary>True once the execution's outcome is set (its task completes with it, or already has).</summary>
    public bool IsCompleted => Volatile.Read(ref _state) != Running;

    /// <summary>
    /// The task every waiter awaits: completes with the execution's result or exception. Made at the first request,
    /// already completed when the execution has ended.
    /// </summary>
    public Task<TValue> Task
    {
        get
        {
            var source = Volatile.Read(ref _source);
            if (source is null)
            {
                var created = new TaskCompletionSource<TValue>(TaskCreationOptions.RunContinuationsAsynchronously);
                source = Interlocked.CompareExchange(ref _source, created, null) ?? created;

                // After the exchange (a full fence): either the completer sees the source and completes it, or this
                // reader sees the outcome and does (both may: the first wins, with the same outcome).
                if (Volatile.Read(ref _state) != Running)
                {
                    Publish(source);
                }
            }

            return source.Task;
        }
    }

    /// <summary>
    /// Completes the execution with its result; false when it already has an outcome (a timeout came first). Called by
    /// the flight's owner only (the one writer of the result).
    /// </summary>
    public bool TrySetResult(TValue value)
    {
        if (Volatile.Read(ref _state) != Running)
        {
            return false;
        }

        // Written before the exchange that publishes it; read only by those who see Succeeded.
        _result = value;
        if (Interlocked.CompareExchange(ref _state, Succeeded, Running) != Running)
        {
            return false;
        }

        Volatile.Read(ref _source)?.TrySetResult(value);
        return true;
    }

    /// <summary>Completes the execution with its exception; false when it already has an outcome.</summary>
    public bool TrySetException(Exception error)
    {
        if (Interlocked.CompareExchange(ref _state, Failing, Running) != Running)
        {
            return false;
        }

        _error = error;
        Interlocked.Exchange(ref _state, Failed);
        Volatile.Read(ref _source)?.TrySetException(error);
        return true;
    }

    /// <summary>
    /// The outcome of an ended execution (<see cref="IsCompleted"/>): its result, or its exception thrown as awaiting
    /// its task would. Makes no task.
    /// </summary>
    public TValue GetResult()
    {
        if (Outcome() == Failed)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_error!);
        }

        return _result;
    }

    /// <summary>Succeeded or Failed, once the outcome is written (an exception being written is waited for).</summary>
    private int Outcome()
    {
        var spinner = default(SpinWait);
        int state;
        while ((state = Volatile.Read(ref _state)) is Failing or Running)
        {
            spinner.SpinOnce();
        }

        return state;
    }

    /// <summary>Completes <paramref name="source"/> with the outcome, once it is written.</summary>
    private void Publish(TaskCompletionSource<TValue> source)
    {
        if (Outcome() == Failed)
        {
            source.TrySetException(_error!);
        }
        else
        {
            source.TrySetResult(_result);
        }
    }

    /// <summary>The token passed to the function's <see cref="CancellationToken"/> parameters.</summary>
    public CancellationToken Token => _sharing?.Source.Token ?? CancellationToken.None;

    /// <summary>True when Invalidate or Clear ran during the execution: its result must not be stored.</summary>
    public bool Doomed => _doomed;

    /// <summary>
    /// Held by a backend while it checks that a result may be stored and stores it, and by <see cref="Doom"/>. So a store
    /// either ends before Invalidate or Clear (which doom the execution, then remove entries) look at the entries, or
    /// sees the doom: nothing computed before they return is stored after. Uncontended except in that race.
    /// </summary>
    public object StoreLock => this;

    /// <summary>Marks the result as not to be stored; waits for a store in progress to end.</summary>
    public void Doom()
    {
        lock (StoreLock)
        {
            _doomed = true;
            CloseWindow();
        }
    }

    /// <summary>
    /// The lock-free form of <see cref="StoreLock"/> for a backend that stores once per flight (memory): true when the
    /// result may be stored (the flight is not doomed), and then <see cref="Doom"/> and the hard timeout wait until
    /// <see cref="EndStore"/>. Costs one exchange where the lock costs two.
    /// </summary>
    public bool TryBeginStore() => Interlocked.CompareExchange(ref _window, WindowStoring, WindowOpen) == WindowOpen;

    /// <summary>Ends what <see cref="TryBeginStore"/> began; <paramref name="stored"/> when the result is now stored (see <see cref="MarkStored"/>).</summary>
    public void EndStore(bool stored) => Volatile.Write(ref _window, stored ? WindowStored : WindowOpen);

    /// <summary>Closes the store window (no store may begin), after a store in progress ends; false when a store ended it first.</summary>
    private bool CloseWindow()
    {
        var spinner = default(SpinWait);
        while (true)
        {
            switch (Volatile.Read(ref _window))
            {
                case WindowStoring:
                    spinner.SpinOnce();
                    break;
                case WindowOpen:
                    if (Interlocked.CompareExchange(ref _window, WindowClosed, WindowOpen) == WindowOpen)
                    {
                        return true;
                    }

                    break;
                case WindowStored:
                    return false;
                default:
                    return true;
            }
        }
    }

    /// <summary>
    /// Called by a backend under <see cref="StoreLock"/> once the result is stored: the execution has in effect
    /// completed, so its hard timeout no longer fails it (its callers get the stored value, not a timeout saying it
    /// will not be cached).
    /// </summary>
    public void MarkStored() => _stored = true;

    /// <summary>
    /// Counts a caller in. Returns false when every earlier participant has given up and the execution is
    /// being cancelled; the caller then waits for it to end and starts a new one.
    /// </summary>
    public bool TryJoin()
    {
        if (_sharing is not { } sharing)
        {
            return true;
        }

        lock (sharing)
        {
            if (sharing.Abandoned)
            {
                return false;
            }

            sharing.Participants++;
            return true;
        }
    }

    /// <summary>A participant stopped waiting (its own token fired). The last one out cancels the work.</summary>
    public void Leave()
    {
        if (_sharing is not { } sharing)
        {
            return;
        }

        lock (sharing)
        {
            if (--sharing.Participants > 0 || sharing.HandedOver || IsCompleted)
            {
                return;
            }

            sharing.Abandoned = true;
        }

        sharing.Cancel();
    }

    /// <summary>
    /// A participant took a stale value at its soft timeout: it stops waiting, and the execution goes on for the
    /// store. The callers (those still waiting, and later ones) no longer cancel it when they all leave, or the soft
    /// timeout would cancel the very execution that refreshes the stale value.
    /// </summary>
    public void HandOverToStore()
    {
        if (_sharing is not { } sharing)
        {
            return;
        }

        lock (sharing)
        {
            sharing.Participants--;
            sharing.HandedOver = true;
        }
    }

    /// <summary>Makes the owner leave when <paramref name="token"/> fires (background refreshes leave when the backend stops).</summary>
    public CancellationTokenRegistration LeaveWhen(CancellationToken token)
        => _sharing is null || !token.CanBeCanceled ? default : token.UnsafeRegister(static state => ((Flight<TValue>)state!).Leave(), this);

    /// <summary>
    /// Fails the execution with a <see cref="TimeoutException"/> after <paramref name="timeout"/> unless it ends first:
    /// <paramref name="onTimeout"/> detaches it (so the next caller starts a new one), every waiter gets the exception,
    /// the result is not stored, and the shared token is cancelled. An execution whose result a backend already stored
    /// (<see cref="MarkStored"/>) has in effect ended: the timeout leaves it alone.
    /// </summary>
    public void ArmTimeout(TimeProvider time, TimeSpan timeout, string function, Action onTimeout)
    {
        var timed = new Timed(onTimeout, $"{function} did not complete within its timeout of {timeout}. The execution was abandoned; its result will not be cached.");
        Volatile.Write(ref _timed, timed);
        timed.Timer = time.CreateTimer(static state => ((Flight<TValue>)state!).OnTimeout(), this, timeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Stops the timeout timer once the execution has ended.</summary>
    public void DisposeTimer() => Volatile.Read(ref _timed)?.Timer?.Dispose();

    private void OnTimeout()
    {
        if (IsCompleted)
        {
            return;
        }

        lock (StoreLock)
        {
            if (_stored || !CloseWindow())
            {
                // The result is already stored: the owner completes the flight with it in a moment.
                return;
            }

            _doomed = true;
        }

        var timed = Volatile.Read(ref _timed)!;

        // Detach first, then complete: nobody may join a completed flight.
        timed.OnTimeout.Invoke();
        if (!TrySetException(new TimeoutException(timed.Message)))
        {
            return;
        }

        timed.Timer?.Dispose();
        if (_sharing is { } sharing)
        {
            lock (sharing)
            {
                sharing.Abandoned = true;
            }

            sharing.Cancel();
        }
    }

    /// <summary>The token shared by the participants of a flight whose function takes one, and who still waits for it.</summary>
    private sealed class Sharing(ILogger logger)
    {
        public readonly CancellationTokenSource Source = new();
        public int Participants = 1;
        public bool Abandoned;
        public bool HandedOver;

        /// <summary>Cancels the function's token; a callback that throws is logged, never let loose on a timer thread.</summary>
        public void Cancel()
        {
            try
            {
                Source.Cancel();
            }
            catch (AggregateException error)
            {
                Log.CancellationCallbackFailed(logger, error);
            }
        }
    }

    /// <summary>A flight's hard timeout: its timer, what detaches the flight, and the message of the exception.</summary>
    private sealed class Timed(Action onTimeout, string message)
    {
        public readonly Action OnTimeout = onTimeout;
        public readonly string Message = message;
        public ITimer? Timer;
    }
}
