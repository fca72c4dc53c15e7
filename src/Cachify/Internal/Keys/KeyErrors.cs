namespace CachifyNet.Internal;

/// <summary>Errors raised while building a key at call time.</summary>
internal static class KeyErrors
{
    public static InvalidOperationException KeyByReturnedNull(string function) => new(
        $"The key function (KeyBy) of {function} returned null. Return a string for every call, for example string.Empty for \"no key\".");

    public static ArgumentException NotReflexive(string function) => new(
        $"An argument of {function} is not equal to itself (its Equals returns false for the same value), so its entry could never be found again: " +
        "every call would run the function and leave an entry behind. Fix the type's Equals, or keep the argument out of the key with IgnoreArgs(...) or KeyBy(...).");

    public static ArgumentException UnstableHash(string function) => new(
        $"An argument of {function} returns a different GetHashCode() each time it is asked, so its entry could never be found again: " +
        "every call would run the function and leave an entry behind. Make GetHashCode depend only on what Equals compares, or keep the argument out of the key with IgnoreArgs(...) or KeyBy(...).");
}
