namespace CachifyNet.Stores;

/// <summary>Receives what a <see cref="CacheBackplane"/> carries. Backends implement it; a backplane only calls it.</summary>
public interface ICacheBackplaneSubscriber
{
    /// <summary>A notice published by some process (possibly this one).</summary>
    /// <param name="notice">The notice's bytes, valid only during the call.</param>
    void OnNotice(ReadOnlySpan<byte> notice);

    /// <summary>Notices may be lost from now on (the connection failed or stopped answering), until <see cref="OnConnectionRestored"/>.</summary>
    void OnConnectionLost();

    /// <summary>Notices flow again: every notice published from now on is delivered.</summary>
    void OnConnectionRestored();
}
