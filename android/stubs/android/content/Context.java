package android.content;

/** API stub (compiled against, never packaged): Android's Context. */
public abstract class Context {
}
