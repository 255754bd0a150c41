package android.view;

/** API stub (compiled against, never packaged): Android's Surface. */
public class Surface {
    public void release() {
    }
}
