namespace CachifyNet.Internal;

/// <summary>Errors raised while building a key at call time.</summary>
internal static class KeyErrors
{
    public static InvalidOperationException KeyByReturnedNull(string function) => new(
        $"The key function (KeyBy) of {function} returned null. Return a string for every call, for example string.Empty for \"no key\".");
}
